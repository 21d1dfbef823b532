package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/streamstate"
)

// A replay runs a stream's own config with its input replaced by the
// `dead_letters` input over the chosen rows, in this process: the same
// pipeline (mapping) and output (target, dead-letter tier), with the
// resources the process was started with. The target output resolves each
// dead letter it confirmed (its `records.dead_letter_table`); a document
// that fails again goes through the stream's dead-letter tier (attempts +
// 1, still open). Only then is a dead letter resolved: never before the
// target confirmed it.

// Job is one replay.
type Job struct {
	ID       int        `json:"id"`
	Stream   string     `json:"stream"`
	IDs      []int64    `json:"ids,omitempty"` // empty: every open dead letter of the stream
	State    string     `json:"state"`         // running | done | failed
	Error    string     `json:"error,omitempty"`
	Started  time.Time  `json:"started"`
	Ended    *time.Time `json:"ended,omitempty"`
	Selected int64      `json:"selected"` // open dead letters the job replayed
	Resolved int64      `json:"resolved"` // of those, resolved when it ended
	Failed   int64      `json:"failed"`   // of those, still open (failed again)
}

type jobs struct {
	mu   sync.Mutex
	next int
	all  []*Job
	busy map[string]bool // stream -> a job runs
}

func newJobs() *jobs { return &jobs{busy: map[string]bool{}} }

func (j *jobs) snapshot() []Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Job, 0, len(j.all))
	for i := len(j.all) - 1; i >= 0; i-- {
		out = append(out, *j.all[i])
	}
	return out
}

// canReplay says whether the console can replay stream's dead letters.
func (s *Server) canReplay(stream string) (bool, string) {
	if len(streamstate.DeadLetterTables()[stream]) == 0 {
		return false, "the stream writes no dead-letter table (set DEAD_LETTER_TABLE)"
	}
	if !streamstate.Resolves(stream) {
		return false, "the stream's target output does not resolve dead letters (records.dead_letter_table is empty)"
	}
	return true, ""
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	var sel selection
	if !readBody(w, r, &sel) {
		return
	}
	f, ok := s.stream(sel.Stream)
	if !ok {
		writeErr(w, http.StatusNotFound, "no stream "+sel.Stream+" in this process")
		return
	}
	if len(sel.IDs) == 0 && !sel.All {
		writeErr(w, http.StatusBadRequest, "select dead letters (ids) or set all: true")
		return
	}
	if ok, why := s.canReplay(f.Name); !ok {
		writeErr(w, http.StatusConflict, "stream "+f.Name+" cannot be replayed here: "+why)
		return
	}
	tables := streamstate.DeadLetterTables()[f.Name]
	job, err := s.startReplay(f, tables[0], sel.IDs)
	if err != nil {
		writeErr(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, job)
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"replays": s.jobs.snapshot()})
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "the id must be a number")
		return
	}
	for _, j := range s.jobs.snapshot() {
		if j.ID == id {
			writeJSON(w, http.StatusOK, j)
			return
		}
	}
	writeErr(w, http.StatusNotFound, fmt.Sprintf("no replay %d", id))
}

// replayConfig is the stream's config with its input replaced by the
// dead letters to replay.
func replayConfig(path string, t streamstate.Table, stream string, ids []int64) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	in := map[string]any{"dsn": t.DSN, "table": t.Table, "stream": stream, "stop_when_done": true}
	if len(ids) > 0 {
		in["ids"] = ids
	}
	doc["input"] = map[string]any{"dead_letters": in}
	// The process's server and metrics stay the process's own.
	delete(doc, "http")
	doc["metrics"] = map[string]any{"none": map[string]any{}}
	delete(doc, "tests")
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// resourceFiles expands the process's -r globs.
func resourceFiles(globs []string) ([]string, error) {
	var out []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("resources %q: %w", g, err)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// buildReplay builds the replay stream.
func (s *Server) buildReplay(f StreamFile, t streamstate.Table, ids []int64) (*service.Stream, error) {
	conf, err := replayConfig(f.Path, t, f.Name, ids)
	if err != nil {
		return nil, err
	}
	b := service.NewStreamBuilder()
	// SetYAML replaces whatever was added before it: resources come after.
	if err := b.SetYAML(conf); err != nil {
		return nil, fmt.Errorf("the replay of %s: %w", f.Path, err)
	}
	files, err := resourceFiles(s.cfg.Resources)
	if err != nil {
		return nil, err
	}
	for _, rf := range files {
		raw, err := os.ReadFile(rf)
		if err != nil {
			return nil, err
		}
		if err := b.AddResourcesYAML(string(raw)); err != nil {
			return nil, fmt.Errorf("resources %s: %w", rf, err)
		}
	}
	return b.Build()
}

func (s *Server) startReplay(f StreamFile, t streamstate.Table, ids []int64) (Job, error) {
	s.jobs.mu.Lock()
	if s.jobs.busy[f.Name] {
		s.jobs.mu.Unlock()
		return Job{}, errors.New("a replay of stream " + f.Name + " is running: wait for it to end")
	}
	s.jobs.busy[f.Name] = true
	s.jobs.next++
	job := &Job{ID: s.jobs.next, Stream: f.Name, IDs: ids, State: "running", Started: s.cfg.Now().UTC()}
	s.jobs.all = append(s.jobs.all, job)
	if len(s.jobs.all) > 100 {
		s.jobs.all = s.jobs.all[len(s.jobs.all)-100:]
	}
	s.jobs.mu.Unlock()

	// What the job replays: the rows open when it starts (of ids, or all).
	ctx := context.Background()
	var before []int64
	st, err := s.stores.deadLetter(ctx, t)
	if err == nil {
		before, err = st.OpenIDs(ctx, f.Name, ids)
	}
	finish := func(err error) {
		var still []int64
		if err == nil && len(before) > 0 {
			still, err = st.OpenIDs(ctx, f.Name, before)
		}
		s.jobs.mu.Lock()
		defer s.jobs.mu.Unlock()
		end := s.cfg.Now().UTC()
		job.Ended = &end
		job.Selected = int64(len(before))
		job.Failed = int64(len(still))
		job.Resolved = job.Selected - job.Failed
		job.State = "done"
		if err != nil {
			job.State, job.Error = "failed", err.Error()
		}
		delete(s.jobs.busy, f.Name)
	}
	if err != nil {
		finish(err)
		s.jobs.mu.Lock()
		defer s.jobs.mu.Unlock()
		return *job, err
	}
	strm, err := s.buildReplay(f, t, ids)
	if err != nil {
		finish(err)
		s.jobs.mu.Lock()
		defer s.jobs.mu.Unlock()
		return *job, err
	}
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		finish(strm.Run(rctx))
	}()
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	return *job, nil
}
