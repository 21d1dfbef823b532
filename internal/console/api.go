package console

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/plugins/deadletter"
	"github.com/erpsync/erpsync/plugins/mysql"
)

// API, under /console/api/ (JSON; POST bodies are application/json):
//
//	GET  streams                      every stream: state, checkpoint, lag, counts, calls by code
//	GET  dead-letters                 ?stream= &target= &error_code= &status=open|resolved|all &since= &until= (RFC 3339) &limit=
//	GET  dead-letters/{id}            one, with its source document and target payload
//	POST dead-letters/replay          {"stream": "...", "ids": [1, 2]} or {"stream": "...", "all": true}: starts a replay job
//	POST dead-letters/resolve         {"stream": "...", "ids": [1, 2], "note": "..."}: resolved by hand
//	GET  replays                      the replay jobs of this process; GET replays/{id} one
//	GET  records                      ?stream= &q= (source id or target number; a trailing * matches a prefix) &limit= &before=
//	GET  checkpoints                  every polling input's checkpoint
//	POST checkpoints/reset            {"stream": "...", "to": "2026-12-01T00:00:00+08:00", "confirm": "<stream>"}
//	POST login                        {"token": "..."}: sets the cookie the page uses

// consoleRetry is the retry of the console's statements: short, a person waits.
var consoleRetry = mysql.RetryPolicy{MaxRetries: 2, Initial: 100 * time.Millisecond, Max: time.Second}

const apiTimeout = 15 * time.Second

func (s *Server) routes() {
	s.mux.HandleFunc("GET "+Path+"api/streams", s.handleStreams)
	s.mux.HandleFunc("GET "+Path+"api/dead-letters", s.handleDeadLetters)
	s.mux.HandleFunc("GET "+Path+"api/dead-letters/{id}", s.handleDeadLetter)
	s.mux.HandleFunc("POST "+Path+"api/dead-letters/replay", s.handleReplay)
	s.mux.HandleFunc("POST "+Path+"api/dead-letters/resolve", s.handleResolve)
	s.mux.HandleFunc("GET "+Path+"api/replays", s.handleJobs)
	s.mux.HandleFunc("GET "+Path+"api/replays/{id}", s.handleJob)
	s.mux.HandleFunc("GET "+Path+"api/records", s.handleRecords)
	s.mux.HandleFunc("GET "+Path+"api/checkpoints", s.handleCheckpoints)
	s.mux.HandleFunc("POST "+Path+"api/checkpoints/reset", s.handleReset)
	s.mux.HandleFunc(Path+"api/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such console endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// openCounts counts open dead letters per stream over every table; a table
// that cannot be read is reported, not fatal.
func (s *Server) openCounts(ctx context.Context) (map[string]int64, []string) {
	stores, _, err := s.stores.deadLetters(ctx, "")
	if err != nil {
		return nil, []string{err.Error()}
	}
	out := map[string]int64{}
	var problems []string
	for _, st := range stores {
		m, err := st.Counts(ctx)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for k, v := range m {
			out[k] += v
		}
	}
	return out, problems
}

func (s *Server) handleStreams(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	open, problems := s.openCounts(ctx)
	writeJSON(w, http.StatusOK, map[string]any{
		"mode": s.cfg.Mode, "now": s.cfg.Now().UTC(), "streams": s.streams(open), "problems": problems,
	})
}

// DeadLetter is a dead letter as the API answers it.
type DeadLetter struct {
	ID             int64             `json:"id"`
	Stream         string            `json:"stream"`
	SourceID       string            `json:"source_id"`
	SourceVendor   string            `json:"source_vendor"`
	Target         string            `json:"target"`
	ErrorCode      string            `json:"error_code"`
	ErrorMessage   string            `json:"error_message"`
	Status         string            `json:"status"`
	Attempts       int               `json:"attempts"`
	FirstFailureAt time.Time         `json:"first_failure_at"`
	LastFailureAt  time.Time         `json:"last_failure_at"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	Note           string            `json:"note,omitempty"`
	Payload        json.RawMessage   `json:"payload,omitempty"`
	TargetPayload  json.RawMessage   `json:"target_payload,omitempty"`
	SourceMeta     map[string]string `json:"source_meta,omitempty"`
}

// rawJSON keeps a document that is JSON as it is, anything else as a string.
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

func toAPI(r deadletter.Row, full bool) DeadLetter {
	d := DeadLetter{ID: r.ID, Stream: r.Stream, SourceID: r.SourceID, SourceVendor: r.SourceVendor, Target: r.Target,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Status: r.Status, Attempts: r.Attempts,
		FirstFailureAt: r.FirstFailureAt.UTC(), LastFailureAt: r.LastFailureAt.UTC(), Note: r.Note}
	if !r.ResolvedAt.IsZero() {
		t := r.ResolvedAt.UTC()
		d.ResolvedAt = &t
	}
	if full {
		d.Payload, d.TargetPayload = rawJSON(r.Payload), rawJSON(r.TargetPayload)
		d.SourceMeta = scrubMeta(r.SourceMeta)
	}
	return d
}

// scrubMeta drops the stash of the source document (already the payload)
// from the metadata shown.
func scrubMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k == deadletter.MetaSource {
			continue
		}
		out[k] = v
	}
	return out
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-12-01T08:00:00+08:00) or 2026-12-01 08:00:00 (Asia/Shanghai)", v)
}

var shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := deadletter.Filter{Stream: q.Get("stream"), Target: q.Get("target"), ErrorCode: q.Get("error_code"), Status: q.Get("status")}
	switch f.Status {
	case "":
		f.Status = deadletter.StatusOpen
	case "all":
		f.Status = ""
	case deadletter.StatusOpen, deadletter.StatusResolved:
	default:
		writeErr(w, http.StatusBadRequest, "status must be open, resolved or all")
		return
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		writeErr(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		writeErr(w, http.StatusBadRequest, "until: "+err.Error())
		return
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			writeErr(w, http.StatusBadRequest, "limit must be a positive number")
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	stores, _, err := s.stores.deadLetters(ctx, f.Stream)
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	out := []DeadLetter{}
	targets, codes := map[string]bool{}, map[string]bool{}
	for _, st := range stores {
		rows, err := st.List(ctx, f)
		if err != nil {
			writeErr(w, http.StatusBadGateway, err.Error())
			return
		}
		for _, row := range rows {
			out = append(out, toAPI(row, false))
			targets[row.Target], codes[row.ErrorCode] = true, true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastFailureAt.After(out[j].LastFailureAt) })
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out, "targets": keys(targets), "error_codes": keys(codes)})
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// find returns the dead letter id of stream (any stream when "").
func (s *Server) find(ctx context.Context, stream string, id int64) (deadletter.Row, error) {
	stores, _, err := s.stores.deadLetters(ctx, stream)
	if err != nil {
		return deadletter.Row{}, err
	}
	for _, st := range stores {
		row, err := st.ByID(ctx, id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return deadletter.Row{}, err
		}
		if stream == "" || row.Stream == stream {
			return row, nil
		}
	}
	return deadletter.Row{}, errNotFound
}

func (s *Server) handleDeadLetter(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "the id must be a number")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	row, err := s.find(ctx, r.URL.Query().Get("stream"), id)
	if errors.Is(err, errNotFound) {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("no dead letter %d", id))
		return
	}
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, toAPI(row, true))
}

// selection is the body of replay and resolve.
type selection struct {
	Stream string  `json:"stream"`
	IDs    []int64 `json:"ids"`
	All    bool    `json:"all"`
	Note   string  `json:"note"`
}

func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	var sel selection
	if !readBody(w, r, &sel) {
		return
	}
	if _, ok := s.stream(sel.Stream); !ok && sel.Stream == "" {
		writeErr(w, http.StatusBadRequest, "name the stream")
		return
	}
	if len(sel.IDs) == 0 {
		writeErr(w, http.StatusBadRequest, "ids is empty: select the dead letters to resolve")
		return
	}
	if strings.TrimSpace(sel.Note) == "" {
		writeErr(w, http.StatusBadRequest, "note is empty: say why these are resolved without a replay")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	stores, _, err := s.stores.deadLetters(ctx, sel.Stream)
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	if len(stores) == 0 {
		writeErr(w, http.StatusNotFound, "stream "+sel.Stream+" writes no dead-letter table in this process")
		return
	}
	var n int64
	for _, st := range stores {
		k, err := st.ResolveByHand(ctx, sel.Stream, sel.IDs, strings.TrimSpace(sel.Note))
		if err != nil {
			writeErr(w, http.StatusBadGateway, err.Error())
			return
		}
		n += k
	}
	writeJSON(w, http.StatusOK, map[string]any{"resolved": n})
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rq := deadletter.RecordQuery{Stream: q.Get("stream"), Search: strings.TrimSpace(q.Get("q"))}
	var err error
	if v := q.Get("limit"); v != "" {
		if rq.Limit, err = strconv.Atoi(v); err != nil || rq.Limit < 1 {
			writeErr(w, http.StatusBadRequest, "limit must be a positive number")
			return
		}
	}
	if v := q.Get("before"); v != "" {
		if rq.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeErr(w, http.StatusBadRequest, "before must be a record id")
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	stores, err := s.stores.recordStores(ctx, rq.Stream)
	if err != nil {
		writeErr(w, http.StatusBadGateway, err.Error())
		return
	}
	out := []deadletter.Record{}
	for _, st := range stores {
		recs, err := st.List(ctx, rq)
		if err != nil {
			writeErr(w, http.StatusBadGateway, err.Error())
			return
		}
		out = append(out, recs...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].WrittenAt.After(out[j].WrittenAt) })
	if rq.Limit > 0 && len(out) > rq.Limit {
		out = out[:rq.Limit]
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": out, "record_tables": len(stores)})
}

// Checkpoint is one polling input's checkpoint.
type Checkpoint struct {
	Stream       string     `json:"stream"`
	Vendor       string     `json:"vendor"`
	Interface    string     `json:"interface"`
	Cache        string     `json:"cache"`
	Key          string     `json:"key"`
	State        string     `json:"state"`
	Checkpoint   *time.Time `json:"checkpoint,omitempty"`
	WindowEnd    *time.Time `json:"window_end,omitempty"`
	ResetPending *time.Time `json:"reset_pending,omitempty"`
}

func (s *Server) checkpoints() []Checkpoint {
	var out []Checkpoint
	for _, f := range s.cfg.Streams {
		conf, err := readStreamConf(f.Path)
		if err != nil {
			continue
		}
		in := inputOf(conf)
		if in == nil {
			continue
		}
		snap := in.Snapshot()
		out = append(out, Checkpoint{Stream: f.Name, Vendor: snap.Vendor, Interface: snap.API, Cache: snap.CheckpointCache,
			Key: snap.CheckpointKey, State: snap.State, Checkpoint: snap.Checkpoint, WindowEnd: snap.WindowEnd, ResetPending: snap.ResetPending})
	}
	return out
}

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"checkpoints": s.checkpoints()})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Stream  string `json:"stream"`
		To      string `json:"to"`
		Confirm string `json:"confirm"`
	}
	if !readBody(w, r, &body) {
		return
	}
	f, ok := s.stream(body.Stream)
	if !ok {
		writeErr(w, http.StatusNotFound, "no stream "+body.Stream+" in this process")
		return
	}
	if body.Confirm != body.Stream {
		writeErr(w, http.StatusBadRequest, "confirm must repeat the stream's name: a reset makes the stream read again from that time")
		return
	}
	to, err := parseTime(body.To)
	if err != nil || to.IsZero() {
		writeErr(w, http.StatusBadRequest, "to: give the time to restart from, e.g. 2026-12-01T00:00:00+08:00")
		return
	}
	if to.After(s.cfg.Now()) {
		writeErr(w, http.StatusBadRequest, "to is in the future")
		return
	}
	conf, err := readStreamConf(f.Path)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "reading "+f.Path+": "+err.Error())
		return
	}
	in := inputOf(conf)
	if in == nil || in.CheckpointCache == "" {
		writeErr(w, http.StatusConflict, "stream "+f.Name+" has no polling input with a checkpoint in this process")
		return
	}
	applied, err := in.RequestReset(to)
	if err != nil {
		writeErr(w, http.StatusBadGateway, "stream "+f.Name+": storing the checkpoint: "+err.Error())
		return
	}
	msg := "the stream restarts from this time at its next window"
	if applied {
		msg = "stored: the stream's next run starts from this time"
	}
	writeJSON(w, http.StatusOK, map[string]any{"stream": f.Name, "to": to.UTC(), "stored": applied, "message": msg, "state": in.Snapshot().State})
}
