package kis

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkCreate measures one create call through the client (credential
// check, wrapping, classification) against a hand-written baseline that
// posts the same wrapped body with the same headers and credentials.
func BenchmarkCreate(b *testing.B) {
	sb := startSandbox(b, nil)
	c, err := NewClient(sandboxConfig(sb, nil))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		b.Fatal(err)
	}
	n := 0
	next := func() []byte { n++; return makeBill(fmt.Sprintf("B%08d", n), n) }

	b.Run("baseline", func(b *testing.B) {
		cr := c.load()
		for b.Loop() {
			body := append(append([]byte(`{"Object":`), next()...), '}')
			h, _, _ := c.commonHeaders()
			h.Set("Kis-Authdata", cr.authData)
			h.Set("X-Gw-Router-Addr", cr.gwRouter)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost,
				sb.URL()+DefaultCreatePath+"?"+url.Values{"access_token": {cr.accessToken}}.Encode(), bytes.NewReader(body))
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Create(ctx, DefaultCreatePath, next()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
