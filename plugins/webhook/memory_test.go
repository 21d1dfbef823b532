package webhook

import (
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Six concurrent 100 MB bodies, made up as they are sent, against the
// default 1 MiB limit: unsigned with a Content-Length (413 from the
// headers), unsigned and chunked (401 from the headers), and chunked with
// a fresh timestamp and a wrong signature (read up to the limit, 413). What
// the process allocates meanwhile, counted by the runtime whatever the
// garbage collector does, must stay far under the bodies' size: the
// receiver this replaced held them all (2.1 GB for six).
func TestConcurrentLargeBodiesCostNoMoreThanTheLimit(t *testing.T) {
	r := startInput(t, inputYAML(t.TempDir(), ""), nil)
	addr := r.url[len("http://"):strings.LastIndex(r.url, "/hook")]
	const size = 100 << 20
	now := nowTS()
	wrong := strings.Repeat("ab", 32)
	type request struct {
		name    string
		headers map[string]string
		cl      int64
		status  int
	}
	requests := []request{
		{"unsigned, Content-Length", map[string]string{HeaderTimestamp: now}, size, 413},
		{"unsigned, Content-Length", nil, size, 413},
		{"unsigned, chunked", map[string]string{HeaderTimestamp: now}, -1, 401},
		{"unsigned, chunked", nil, -1, 401},
		{"wrong signature, chunked", map[string]string{HeaderTimestamp: now, HeaderSignature: wrong}, -1, 413},
		{"wrong signature, chunked", map[string]string{HeaderTimestamp: now, HeaderSignature: wrong}, -1, 413},
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	results := make([]rawResult, len(requests))
	errs := make([]error, len(requests))
	gens := make([]*generator, len(requests))
	var wg sync.WaitGroup
	for i, req := range requests {
		gens[i] = &generator{n: size}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = tryRawPost(addr, "/hook", req.headers, req.cl, gens[i], nil)
		}()
	}
	wg.Wait()

	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB while %d bodies of %d MiB were offered; heap in use %d -> %d KiB",
		allocated>>10, len(requests), size>>20, before.HeapInuse>>10, after.HeapInuse>>10)

	for i, req := range requests {
		if errs[i] != nil {
			t.Errorf("%s: %v", req.name, errs[i])
			continue
		}
		if results[i].status != req.status {
			t.Errorf("%s: got %d %s, want %d", req.name, results[i].status, results[i].body, req.status)
		}
		if read := gens[i].read.Load(); read >= size/2 {
			t.Errorf("%s: the client could send %d MiB of its body: the server kept reading", req.name, read>>20)
		}
	}
	// Two bodies are read up to 1 MiB each; everything else the receiver
	// and the test allocate is small. A receiver reading whole bodies
	// would allocate at least 600 MiB.
	if limit := uint64(48 << 20); allocated > limit {
		t.Fatalf("allocated %d MiB for %d refused requests, want under %d MiB", allocated>>20, len(requests), limit>>20)
	}
	if n := len(r.read()); n != 0 {
		t.Fatalf("%d messages emitted", n)
	}
}
