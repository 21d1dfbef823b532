package k3cloud

// Answer envelopes (section 4). Field order follows captured answers.

type errItem struct {
	FieldName *string `json:"FieldName"`
	Message   string  `json:"Message"`
	DIndex    int     `json:"DIndex"`
}

type successEntity struct {
	ID     int64  `json:"Id"`
	Number string `json:"Number"`
	DIndex int    `json:"DIndex"`
}

type responseStatus struct {
	// ErrorCode is 500 on failure and absent on success.
	ErrorCode       int             `json:"ErrorCode,omitempty"`
	IsSuccess       bool            `json:"IsSuccess"`
	Errors          []errItem       `json:"Errors"`
	SuccessEntitys  []successEntity `json:"SuccessEntitys"`
	SuccessMessages []any           `json:"SuccessMessages"`
	MsgCode         int             `json:"MsgCode"`
}

// statusResult is the Submit / Audit answer and every generic failure.
type statusResult struct {
	Result struct {
		ResponseStatus responseStatus `json:"ResponseStatus"`
	} `json:"Result"`
}

// saveResult is the Save answer (top-level Id and Number).
type saveResult struct {
	Result struct {
		ResponseStatus responseStatus `json:"ResponseStatus"`
		ID             any            `json:"Id"`
		Number         string         `json:"Number"`
		NeedReturnData []any          `json:"NeedReturnData"`
	} `json:"Result"`
}

// batchSaveResult is the BatchSave answer (no top-level Id / Number).
type batchSaveResult struct {
	Result struct {
		ResponseStatus responseStatus `json:"ResponseStatus"`
		NeedReturnData []any          `json:"NeedReturnData"`
	} `json:"Result"`
}

// viewResult is the View answer of a found document: ResponseStatus is
// null, as in a captured answer (view.go).
type viewResult struct {
	Result struct {
		ResponseStatus *responseStatus `json:"ResponseStatus"`
		Result         any             `json:"Result"`
	} `json:"Result"`
}

// rowError is one validation failure of one document.
type rowError struct {
	code  int
	field string // "" gives FieldName null
	msg   string
}

func newStatus() responseStatus {
	return responseStatus{IsSuccess: true, Errors: []errItem{}, SuccessEntitys: []successEntity{}, SuccessMessages: []any{}}
}

// fail adds one error of document dindex; the first failure sets MsgCode.
func (rs *responseStatus) fail(dindex int, e rowError) {
	if rs.IsSuccess {
		rs.IsSuccess, rs.ErrorCode, rs.MsgCode = false, 500, e.code
	}
	var fn *string
	if e.field != "" {
		f := e.field
		fn = &f
	}
	rs.Errors = append(rs.Errors, errItem{FieldName: fn, Message: e.msg, DIndex: dindex})
}

// failure is a whole-request failure in the ResponseStatus-only envelope.
func failure(code int, field *string, msg string) statusResult {
	var r statusResult
	r.Result.ResponseStatus = newStatus()
	f := ""
	if field != nil {
		f = *field
	}
	r.Result.ResponseStatus.fail(0, rowError{code: code, field: f, msg: msg})
	return r
}

// sessionLost is the MsgCode 1 envelope exactly as captured (section 3.5).
func sessionLost() statusResult { return failure(1, nil, msgLost) }
