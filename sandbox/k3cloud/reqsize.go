package k3cloud

import (
	"fmt"
	"net/http"
)

// How an oversized request is refused (Config.RequestRefusal). None of
// them is a K3Cloud envelope: the body is refused by the web server before
// the WebAPI sees it, so no MsgCode, no DIndex and no session answer come
// back, only an HTTP status and a page.
//
//   - RefusalASPNET: ASP.NET's httpRuntime maxRequestLength (4096 KB by
//     default) raises HttpException "Maximum request length exceeded."
//     (web event code 3004), served as HTTP 500 with the error page [C:
//     ASP.NET behaviour, several sources]. The page of a Chinese server
//     says 超过了最大请求长度。 [I: the zh-CN resource text]. A client
//     must tell this 500 from a transient one: retrying it never helps.
//   - RefusalIIS: IIS request filtering (maxAllowedContentLength,
//     30,000,000 bytes by default) answers HTTP 404 with substatus 13,
//     "Content Length Too Large" [C: IIS behaviour]; the page names
//     "HTTP Error 404.13" [C], its other words are [I].
//   - RefusalProxy: a reverse proxy in front of the server (nginx's
//     client_max_body_size, 1 MiB by default) answers HTTP 413 Request
//     Entity Too Large [C: nginx behaviour]; whether a deployment has one is
//     [I].
const (
	RefusalASPNET = "aspnet"
	RefusalIIS    = "iis"
	RefusalProxy  = "proxy"
)

// The refusal pages (short forms of the real ones, the recognisable
// words kept).
const (
	pageASPNET = `<!DOCTYPE html><html><head><title>超过了最大请求长度。</title></head><body>` +
		`<h1>“/K3Cloud”应用程序中的服务器错误。</h1><h2><i>超过了最大请求长度。</i></h2>` +
		`<b>异常详细信息:</b> System.Web.HttpException: 超过了最大请求长度。` +
		`<pre>[HttpException (0x80004005): 超过了最大请求长度。]` + "\n" +
		`   System.Web.HttpRequest.GetEntireRawContent()</pre></body></html>`
	pageIIS = `<!DOCTYPE html><html><head><title>IIS 10.0 详细错误 - 404.13 - Not Found</title></head><body>` +
		`<h3>HTTP 错误 404.13 - Not Found</h3><h4>请求筛选模块被配置为拒绝超过请求内容长度的请求。</h4>` +
		`<p>Content Length Too Large: 检查 applicationhost.config 或 web.config 文件中的 ` +
		`configuration/system.webServer/security/requestFiltering/requestLimits@maxAllowedContentLength 设置。</p></body></html>`
	pageProxy = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
		"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

// refuseTooLarge answers a request whose body exceeds MaxRequestBytes. The
// body was read whole first, so the client sees the answer and not a reset.
func (s *Sim) refuseTooLarge(w http.ResponseWriter, name string, size int) {
	status, page := http.StatusInternalServerError, pageASPNET
	switch s.cfg.RequestRefusal {
	case RefusalIIS:
		status, page = http.StatusNotFound, pageIIS
	case RefusalProxy:
		status, page = http.StatusRequestEntityTooLarge, pageProxy
	}
	s.env.Stats.Record(Vendor, name, fmt.Sprintf("http_%d", status))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(page))
}
