package k3cloud

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The asynchronous mode of the official SDKs (k3cloud.md section 2 [C]):
// a DynamicFormService call whose body (PYSDK, JSDK) or headers (JSDK)
// carry beginmethod "BeginQueryImpl" and querymethod "QueryAsyncResult"
// answers a task (QueryResultInfo) instead of the result; the client polls
// DynamicFormService.QueryAsyncResult with the TaskId until Status is 2
// (0 pending, 1 running, 2 complete) and takes Result as the answer the
// call would have given. Sources: PYSDK webapi_client.py (ExecuteByQuery,
// QueryTaskResult: {"queryInfo": "<JSON text of {TaskId, Cancelled}>"}),
// const_define.py (QueryState, QueryMode), main.py (BatchSaveQuery); JSDK
// WebApiClient.java (executeByQuery, queryTaskResult: {"parameters":
// [{"TaskId","Cancelled"}]}), ApiQueryRequester.java (the headers),
// QueryRequestBodyObject.java (the body keys), QueryResultInfo.java (the
// answer's fields). What the real server does while the task runs is not
// published: the simulator runs the call when it is begun [I], answers the
// begin with Status 0 [I] and every poll with Status 2 and the result [I].

const (
	asyncBeginMethod = "BeginQueryImpl"
	asyncQueryMethod = "QueryAsyncResult"
	// asyncTaskTTL: how long a finished task's result can be fetched [I].
	asyncTaskTTL = 30 * time.Minute
	// msgNoTask: an unknown or expired TaskId [I].
	msgNoTask = "异步任务不存在或已过期：%s"
)

// queryResultInfo is the task answer, with the fields of JSDK's
// QueryResultInfo in its order.
type queryResultInfo struct {
	TaskID           string  `json:"TaskId"`
	Status           int     `json:"Status"`
	Result           any     `json:"Result"`
	Cancelled        bool    `json:"Cancelled"`
	IsFaulted        bool    `json:"IsFaulted"`
	FaultedException any     `json:"FaultedException"`
	Successful       bool    `json:"Successful"`
	Message          *string `json:"Message"`
	Progress         int     `json:"Progress"`
	ProgressDesc     *string `json:"ProgressDesc"`
}

type asyncTask struct {
	result    any // the answer the call gave, as JSON would carry it
	method    string
	created   time.Time
	cancelled bool
}

// isAsync tells whether a call asks for the asynchronous mode.
func isAsync(r *http.Request, top map[string]any) bool {
	if strings.EqualFold(r.Header.Get("beginmethod"), asyncBeginMethod) {
		return true
	}
	v, _ := getCI(top, "beginmethod").(string)
	return strings.EqualFold(v, asyncBeginMethod)
}

// beginTask stores the result of a call run in the asynchronous mode and
// returns the pending task answer.
func (s *Sim) beginTask(method string, result any) queryResultInfo {
	now := s.env.Now()
	id := randomID(16, true)
	s.taskMu.Lock()
	for k, t := range s.tasks {
		if now.Sub(t.created) > asyncTaskTTL {
			delete(s.tasks, k)
		}
	}
	s.tasks[id] = &asyncTask{result: result, method: method, created: now}
	s.taskMu.Unlock()
	return queryResultInfo{TaskID: id, Status: 0}
}

// taskParam reads {TaskId, Cancelled} from a QueryAsyncResult body: PYSDK's
// {"queryInfo": "<JSON text>"}, JSDK's {"parameters": [{...}]}, or either
// with the parameter as an object or as JSON text.
func taskParam(top map[string]any, req request) (id string, cancel bool) {
	var p any = getCI(top, "queryInfo")
	if p == nil && len(req.params) > 0 {
		p = req.params[0]
	}
	if p == nil {
		p = req.data
	}
	if str, ok := p.(string); ok {
		p, _ = decodeJSON([]byte(str))
	}
	m, _ := p.(map[string]any)
	if m == nil {
		return "", false
	}
	return strings.TrimSpace(scalarString(getCI(m, "TaskId"))), boolOf(getCI(m, "Cancelled"), false)
}

// pollTask answers QueryAsyncResult: Status 2 with the call's answer as
// Result, or, for an unknown task, Status 2 with IsFaulted and a failure
// envelope as Result so an SDK stops polling and sees IsSuccess false [I].
func (s *Sim) pollTask(top map[string]any, req request) (queryResultInfo, int) {
	id, cancel := taskParam(top, req)
	s.taskMu.Lock()
	t := s.tasks[id]
	if t != nil && cancel {
		t.cancelled = true
	}
	s.taskMu.Unlock()
	if t == nil {
		msg := strings.Replace(msgNoTask, "%s", id, 1)
		return queryResultInfo{TaskID: id, Status: 2, Result: failure(4, nil, msg), IsFaulted: true, Message: &msg}, 4
	}
	return queryResultInfo{TaskID: id, Status: 2, Result: t.result, Cancelled: t.cancelled, Successful: true, Progress: 100}, 0
}

// jsonValue round-trips v through JSON so a stored result is immutable.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	out, _ := decodeJSON(b)
	return out
}
