package webhook

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "webhook-unit-test-secret-3f9a"

// guard bounds waits that end at once when the code is right; reaching it
// fails the test rather than synchronising anything.
const guard = 10 * time.Second

func nowTS() string { return strconv.FormatInt(time.Now().Unix(), 10) }

// harness is a Receiver on an httptest server with a FileStore and a
// deliverer the test controls.
type harness struct {
	t     *testing.T
	rc    *Receiver
	store *FileStore
	srv   *httptest.Server
	url   string

	mu      sync.Mutex
	events  []Event
	verdict func(Event) error // nil: acknowledge at once
	take    func(ctx context.Context, ev Event, done func(error)) error

	answers []int
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	store, err := OpenFileStore(filepath.Join(t.TempDir(), "replays.log"), 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	h := &harness{t: t, store: store}
	cfg := Config{
		Path:         "/hook",
		Secret:       []byte(testSecret),
		MaxSkew:      5 * time.Minute,
		MaxBodyBytes: 1024,
		AckTimeout:   guard,
		Replays:      store,
		Deliver: func(ctx context.Context, ev Event, done func(error)) error {
			h.mu.Lock()
			take, verdict := h.take, h.verdict
			h.mu.Unlock()
			if take != nil {
				return take(ctx, ev, done)
			}
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.mu.Unlock()
			var err error
			if verdict != nil {
				err = verdict(ev)
			}
			done(err)
			return nil
		},
		OnAnswer: func(status int, _, _ string) {
			h.mu.Lock()
			h.answers = append(h.answers, status)
			h.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	rc, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.rc = rc
	h.srv = httptest.NewUnstartedServer(rc)
	// The production server, with a read timeout far beyond the guard: a
	// request the receiver waits on shows as a test failure, not a 408.
	h.srv.Config = NewServer(rc, time.Minute)
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	h.url = h.srv.URL + "/hook"
	return h
}

func (h *harness) delivered() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

func (h *harness) addr() string { return h.srv.Listener.Addr().String() }

type reply struct {
	status int
	header http.Header
	body   answerBody
}

// post sends a signed request: sig "" sends no signature header.
func post(t *testing.T, url, ts, sig, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if ts != "" {
		req.Header.Set(HeaderTimestamp, ts)
	}
	if sig != "" {
		req.Header.Set(HeaderSignature, sig)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	c := &http.Client{Timeout: guard}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var a answerBody
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer %d is not the JSON of the contract: %q", resp.StatusCode, raw)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: a}
}

func sign(ts, body string) string { return Sign([]byte(testSecret), ts, []byte(body)) }

// generator is a body of n bytes made up as it is read, never held in
// memory; it counts what was read from it.
type generator struct {
	n    int64
	read atomic.Int64
}

func (g *generator) Read(p []byte) (int, error) {
	left := g.n - g.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	for i := range p {
		p[i] = 'a'
	}
	g.read.Add(int64(len(p)))
	return len(p), nil
}

// blocker is a body that gives nothing until released: a server that
// waits for the body never answers.
type blocker struct{ release chan struct{} }

func (b blocker) Read([]byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

// rawResult is what rawPost saw.
type rawResult struct {
	status  int
	header  http.Header
	body    string
	close   bool  // the server said it closes the connection
	written int64 // body bytes the client managed to send
}

// rawPost sends a request on a bare connection: the head (with the given
// headers; "Content-Length: n" for a declared length, chunked when
// contentLength < 0), then body in the background, and reads the answer
// without waiting for the body to be sent. It returns once the answer is
// read and the body writer has stopped (the server closed the connection,
// the body ended, or release was closed for a blocker).
func rawPost(t *testing.T, addr, path string, headers map[string]string, contentLength int64, body io.Reader, stopBody func()) rawResult {
	t.Helper()
	res, err := tryRawPost(addr, path, headers, contentLength, body, stopBody)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tryRawPost is rawPost for other goroutines than the test's.
func tryRawPost(addr, path string, headers map[string]string, contentLength int64, body io.Reader, stopBody func()) (rawResult, error) {
	conn, err := net.DialTimeout("tcp", addr, guard)
	if err != nil {
		return rawResult{}, err
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", path, addr)
	for k, v := range headers {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	if contentLength >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n", contentLength)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n")
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return rawResult{}, err
	}
	var written atomic.Int64
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		var w io.Writer = countingWriter{conn, &written}
		if contentLength < 0 {
			cw := httputil.NewChunkedWriter(w)
			if _, err := io.Copy(cw, body); err == nil {
				_ = cw.Close()
				_, _ = io.WriteString(w, "\r\n")
			}
			return
		}
		_, _ = io.Copy(w, body)
	}()
	defer func() {
		if stopBody != nil {
			stopBody()
		}
		_ = conn.Close()
		<-wdone
	}()
	_ = conn.SetReadDeadline(time.Now().Add(guard))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawResult{}, fmt.Errorf("no answer while the body was being sent (the server waited for it?): %w", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return rawResult{status: resp.StatusCode, header: resp.Header, body: string(raw), close: resp.Close, written: written.Load()}, nil
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
