package dwolla

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is a non-2xx answer from Dwolla's API, decoded from either of
// its error shapes: the vnd.error body {code, message, _embedded.errors[]}
// or OAuth's {"error": "invalid_client"} from POST /token. Check for it with
// errors.As.
type APIError struct {
	// Op is the call, such as "GET /events/{id}" with the id filled in.
	Op string
	// Status is the HTTP status code.
	Status int
	// Code is Dwolla's error code (NotFound, ValidationError,
	// ExpiredAccessToken, invalid_client, …), or the status text when the
	// body had none.
	Code string
	// Message is Dwolla's human message.
	Message string
	// Errors are the embedded validation errors of a 400 ValidationError.
	Errors []FieldError
	// RequestID is Dwolla's X-Request-ID, for support tickets.
	RequestID string
	// RetryAfter is the wait a 429 asked for (0 when absent).
	RetryAfter time.Duration
}

// FieldError is one embedded validation error.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Path is a JSON pointer to the offending field, such as /url.
	Path string `json:"path"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dwolla %s: %d %s", e.Op, e.Status, e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, fe := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", fe.Path, fe.Code)
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// NotFound reports whether Dwolla answered 404.
func (e *APIError) NotFound() bool { return e.Status == http.StatusNotFound }

// Temporary reports whether the same call may succeed later (429, 5xx).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// maxErrorText bounds what an error body may put into a message: an error
// page of a proxy must not flood the logs.
const maxErrorText = 300

func decodeAPIError(resp *response, op string) *APIError {
	e := &APIError{
		Op:         op,
		Status:     resp.status,
		RequestID:  resp.header.Get("X-Request-ID"),
		RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), time.Now()),
	}
	var body struct {
		Code             string `json:"code"`
		Message          string `json:"message"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		Embedded         struct {
			Errors []FieldError `json:"errors"`
		} `json:"_embedded"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.Code, e.Message, e.Errors = body.Code, body.Message, body.Embedded.Errors
		if e.Code == "" && body.Error != "" {
			e.Code, e.Message = body.Error, body.ErrorDescription
		}
	}
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(resp.status), " ", "")
	}
	e.Code = truncateText(e.Code, 64)
	e.Message = truncateText(e.Message, maxErrorText)
	for i := range e.Errors {
		e.Errors[i].Message = truncateText(e.Errors[i].Message, maxErrorText)
	}
	return e
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// jsonErrorText shortens encoding/json errors to something safe to show: it
// never includes the body.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("unexpected %s for %s", typ.Value, typ.Field)
	}
	return "cannot decode"
}
