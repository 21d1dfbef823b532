package console

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/plugins/poll"
)

// StreamFiles lists the stream configs of a run: the config file of
// `erpsync run`, or the files and folders given to `erpsync streams` (a
// folder's .yaml/.yml files, whose base names are the stream ids).
func StreamFiles(paths []string) []StreamFile {
	var out []StreamFile
	add := func(p string) {
		base := filepath.Base(p)
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
		out = append(out, StreamFile{Name: name, Path: p})
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		_ = filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
				add(f)
			}
			return nil
		})
	}
	return out
}

// streamConf is what the console reads of a stream's config.
type streamConf struct {
	InputType string
	API       string
	// CheckpointCache and CheckpointKey: the input's, defaults applied.
	CheckpointCache, CheckpointKey string
	Outputs                        []string // output component types, in order, fallback tiers flattened
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:default} as Benthos does.
func expandEnv(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(sub[1]); ok && v != "" {
			return v
		}
		return sub[2]
	})
}

// outputTypes are the components worth naming in the console.
var skipOutputs = map[string]bool{"fallback": true, "broker": true, "switch": true, "reject_errored": true, "retry": true, "processors": true, "label": true, "cases": true, "outputs": true, "output": true, "check": true, "drop": true, "pattern": true, "batching": true, "continue": true}

func readStreamConf(path string) (streamConf, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return streamConf{}, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(expandEnv(string(raw))), &doc); err != nil {
		return streamConf{}, err
	}
	var c streamConf
	if in, ok := doc["input"].(map[string]any); ok {
		for k, v := range in {
			if k == "label" || k == "processors" {
				continue
			}
			c.InputType = k
			if m, ok := v.(map[string]any); ok {
				c.API, _ = m["api"].(string)
				if c.API == "" {
					c.API, _ = m["method"].(string)
				}
				if cp, ok := m["checkpoint"].(map[string]any); ok {
					c.CheckpointCache, _ = cp["cache"].(string)
					c.CheckpointKey, _ = cp["key"].(string)
				}
			}
		}
	}
	if c.CheckpointKey == "" && c.InputType != "" && c.API != "" {
		c.CheckpointKey = poll.DefaultCheckpointKey(c.InputType, c.API)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if name, ok := t[k].(string); ok && k == "resource" && !seen[k+name] {
					seen[k+name] = true
					c.Outputs = append(c.Outputs, "resource "+name)
					continue
				}
				if !skipOutputs[k] && !seen[k] {
					if _, isMap := t[k].(map[string]any); isMap && looksLikeComponent(k) {
						seen[k] = true
						c.Outputs = append(c.Outputs, k)
						continue
					}
				}
				if skipOutputs[k] {
					walk(t[k])
				}
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(doc["output"])
	return c, nil
}

func looksLikeComponent(k string) bool {
	return !strings.Contains(k, " ") && strings.ToLower(k) == k
}

// Stream is one stream as the console shows it.
type Stream struct {
	Name    string   `json:"name"`
	File    string   `json:"file,omitempty"`
	State   string   `json:"state"`
	Input   *Input   `json:"input,omitempty"`
	Outputs []string `json:"outputs"`
	// Checkpoint is the stored window end; LagSeconds how far behind now.
	Checkpoint  *time.Time                   `json:"checkpoint,omitempty"`
	LagSeconds  *int64                       `json:"lag_seconds,omitempty"`
	WindowEnd   *time.Time                   `json:"window_end,omitempty"`
	LastPoll    *time.Time                   `json:"last_poll,omitempty"`
	LastError   string                       `json:"last_error,omitempty"`
	LastErrorAt *time.Time                   `json:"last_error_at,omitempty"`
	Counts      Counts                       `json:"counts"`
	Calls       map[string]int64             `json:"calls"`
	Targets     []streamstate.TargetSnapshot `json:"targets"`
	// DeadLetterTable: the stream writes dead letters to a table the
	// console can read; Replay: the console can replay them (the target
	// output resolves what it confirmed); ReplayWhy says why not.
	DeadLetterTable bool   `json:"dead_letter_table"`
	RecordTable     bool   `json:"record_table"`
	Replay          bool   `json:"replay"`
	ReplayWhy       string `json:"replay_why,omitempty"`
}

// Input is a stream's polling input.
type Input struct {
	Type            string     `json:"type"`
	Vendor          string     `json:"vendor,omitempty"`
	Interface       string     `json:"interface,omitempty"`
	CheckpointCache string     `json:"checkpoint_cache,omitempty"`
	CheckpointKey   string     `json:"checkpoint_key,omitempty"`
	ResetPending    *time.Time `json:"reset_pending,omitempty"`
}

// Counts are a stream's counts since the process started, and its open
// dead letters (from the table).
type Counts struct {
	Read         int64  `json:"read"`
	Written      int64  `json:"written"`
	Updated      int64  `json:"updated"`
	Skipped      int64  `json:"skipped"`
	Failed       int64  `json:"failed"`
	Retried      int64  `json:"retried"`
	DeadLettered int64  `json:"dead_lettered"`
	Resolved     int64  `json:"resolved"`
	OpenDead     *int64 `json:"open_dead_letters,omitempty"`
}

// inputOf finds the registered input of a stream config.
func inputOf(c streamConf) *streamstate.Input {
	if c.CheckpointKey == "" {
		return nil
	}
	for _, in := range streamstate.Inputs() {
		if in.CheckpointKey == c.CheckpointKey && (c.CheckpointCache == "" || in.CheckpointCache == c.CheckpointCache) {
			return in
		}
	}
	return nil
}

// streams builds the console's view of every stream.
func (s *Server) streams(open map[string]int64) []Stream {
	now := s.cfg.Now()
	dls := streamstate.DeadLetterTables()
	recs := streamstate.RecordTables()
	var out []Stream
	for _, f := range s.cfg.Streams {
		st := Stream{Name: f.Name, File: f.Path, State: "running", Calls: map[string]int64{}, Outputs: []string{}}
		conf, err := readStreamConf(f.Path)
		if err != nil {
			st.State, st.LastError = "unknown", "config unreadable: "+err.Error()
		}
		st.Outputs = append(st.Outputs, conf.Outputs...)
		if conf.InputType != "" {
			st.Input = &Input{Type: conf.InputType, Interface: conf.API, CheckpointCache: conf.CheckpointCache, CheckpointKey: conf.CheckpointKey}
		}
		if in := inputOf(conf); in != nil {
			snap := in.Snapshot()
			st.State = snap.State
			st.Input.Vendor, st.Input.Interface = snap.Vendor, snap.API
			st.Input.CheckpointCache, st.Input.CheckpointKey = snap.CheckpointCache, snap.CheckpointKey
			st.Input.ResetPending = snap.ResetPending
			st.Checkpoint, st.WindowEnd, st.LastPoll = snap.Checkpoint, snap.WindowEnd, snap.LastPoll
			st.LastError, st.LastErrorAt = snap.LastError, snap.LastErrorAt
			st.Counts.Read = snap.Read
			st.Calls = snap.Calls
			if snap.Checkpoint != nil {
				lag := int64(now.Sub(*snap.Checkpoint) / time.Second)
				st.LagSeconds = &lag
			}
		}
		for _, t := range streamstate.Targets(f.Name) {
			ts := t.Snapshot()
			st.Targets = append(st.Targets, ts)
			st.Counts.Written += ts.Written
			st.Counts.Updated += ts.Updated
			st.Counts.Skipped += ts.Skipped
			st.Counts.Failed += ts.Failed
			st.Counts.Retried += ts.Retried
		}
		st.Counts.DeadLettered, st.Counts.Resolved = streamstate.DeadLetterCounts(f.Name)
		st.DeadLetterTable = len(dls[f.Name]) > 0
		st.RecordTable = len(recs[f.Name]) > 0
		if n, ok := open[f.Name]; ok {
			st.Counts.OpenDead = &n
		} else if st.DeadLetterTable && open != nil {
			var zero int64
			st.Counts.OpenDead = &zero
		}
		st.Replay, st.ReplayWhy = s.canReplay(f.Name)
		out = append(out, st)
	}
	return out
}

// stream finds a stream file by name.
func (s *Server) stream(name string) (StreamFile, bool) {
	for _, f := range s.cfg.Streams {
		if f.Name == name {
			return f, true
		}
	}
	return StreamFile{}, false
}
