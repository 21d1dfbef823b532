package apiguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/redpanda-data/benthos/v4/public/service"
	"gopkg.in/yaml.v3"
)

// gatePath matches exactly the paths of the stream manager's /streams/{id}
// ([^/]+ is the router's default for a variable) under another name, so
// that Benthos's registry keeps both and the router tries the gate's,
// registered first, before the stream manager's.
const gatePath = "/streams/{id:[^/]+}"

// gate serves /streams/{id}: every request goes to the stream manager's
// handler, and a GET's answer has the config's secrets scrubbed. Until the
// stream manager exists it answers 503.
type gate struct {
	crud  atomic.Pointer[func(http.ResponseWriter, *http.Request)]
	scrub func(conf any) (any, error)
}

func newGate(env *service.Environment) *gate {
	return &gate{scrub: func(conf any) (any, error) { return ScrubStreamConfig(env, conf) }}
}

func (g *gate) open(crud func(http.ResponseWriter, *http.Request)) { g.crud.Store(&crud) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	crud := g.crud.Load()
	if crud == nil {
		http.Error(w, "erpsync is still creating its streams; try again in a moment", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet {
		(*crud)(w, r)
		return
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	(*crud)(rec, r)
	body := rec.body.Bytes()
	if rec.code == http.StatusOK {
		var err error
		if body, err = scrubAnswer(body, g.scrub); err != nil {
			http.Error(w, "erpsync: the stream's config is not shown: its secrets could not be scrubbed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		rec.header.Del("Content-Length")
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(body)
}

// scrubAnswer scrubs the config of the stream manager's answer to GET
// /streams/{id}: {"active":..., "uptime":..., "uptime_str":..., "config":{...}}.
func scrubAnswer(body []byte, scrub func(any) (any, error)) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the stream manager's answer is not a JSON object: %w", err)
	}
	raw, ok := doc["config"]
	if !ok {
		return nil, errors.New(`the stream manager's answer has no "config"`)
	}
	var conf any
	if err := json.Unmarshal(raw, &conf); err != nil {
		return nil, err
	}
	scrubbed, err := scrub(conf)
	if err != nil {
		return nil, err
	}
	if doc["config"], err = json.Marshal(scrubbed); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// ScrubStreamConfig returns a stream config (input, buffer, pipeline,
// output) as `erpsync echo` prints one: secrets scrubbed, normalised
// against the specs of env.
func ScrubStreamConfig(env *service.Environment, conf any) (any, error) {
	m := env.CoreConfigSchema("", "").NewStreamConfigMarshaller().SetScrubSecrets(true)
	y, err := m.AnyToYAML(conf)
	if err != nil {
		return nil, fmt.Errorf("reading the config against the stream spec: %w", err)
	}
	var out any
	if err := yaml.Unmarshal([]byte(y), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// recorder keeps an answer of the stream manager.
type recorder struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

var errNoRegistrar = errors.New("the resources of this Benthos version register no HTTP endpoints")

// registrar is what Benthos's manager offers plugins for HTTP endpoints.
type registrar interface {
	RegisterEndpoint(path, desc string, h http.HandlerFunc)
}

// registrarOf is the endpoint registry of res's manager, which Benthos
// keeps behind Resources.XUnwrapper.
func registrarOf(res *service.Resources) (registrar, error) {
	unwrap := reflect.ValueOf(res.XUnwrapper()).MethodByName("Unwrap")
	if !unwrap.IsValid() || unwrap.Type().NumIn() != 0 || unwrap.Type().NumOut() != 1 {
		return nil, errNoRegistrar
	}
	mgr := unwrap.Call(nil)[0]
	if mgr.Kind() == reflect.Interface && mgr.IsNil() {
		return nil, errNoRegistrar
	}
	reg, ok := mgr.Interface().(registrar)
	if !ok {
		return nil, errNoRegistrar
	}
	return reg, nil
}

// streamsCRUD is the handler of Benthos's stream manager for /streams/{id}.
// Benthos passes the stream manager to the stream-start hook only wrapped
// in a RunningStreamSummary, whose one unexported field holds it; the field
// is read with unsafe because reflect refuses to call methods of a value
// read from an unexported field.
func streamsCRUD(s *service.RunningStreamSummary) (func(http.ResponseWriter, *http.Request), error) {
	if s == nil {
		return nil, errors.New("the stream-start hook was given no running streams")
	}
	v := reflect.ValueOf(s).Elem()
	if v.Kind() != reflect.Struct || v.NumField() != 1 || v.Field(0).Kind() != reflect.Interface {
		return nil, fmt.Errorf("service.RunningStreamSummary (%s) no longer holds the running streams as its one field", v.Type())
	}
	f := v.Field(0)
	f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	if f.IsNil() {
		return nil, errors.New("the stream-start hook was given no running streams")
	}
	m, ok := f.Interface().(interface {
		HandleStreamCRUD(http.ResponseWriter, *http.Request)
	})
	if !ok {
		return nil, fmt.Errorf("the running streams (%T) serve no HandleStreamCRUD", f.Interface())
	}
	return m.HandleStreamCRUD, nil
}
