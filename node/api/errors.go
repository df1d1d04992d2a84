package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error codes in native error bodies ({"error":{"code","message"}}) and in the
// OpenAI "code" field. Clients match on these, never on messages.
const (
	CodeMalformedJSON  = "malformed_json"
	CodeBadRequest     = "bad_request"
	CodeEmptyPrompt    = "empty_prompt"
	CodePromptTooLarge = "prompt_too_large"
	CodeBodyTooLarge   = "body_too_large"
	CodeUnknownModel   = "model_not_found"
	CodeUnknownPolicy  = "unknown_policy"
	// CodePolicyAboveCeiling: the request's policy would widen the node's.
	CodePolicyAboveCeiling = "policy_above_ceiling"
	CodeTooManyMessages    = "too_many_messages"
	CodeMaxTokensTooLarge  = "max_tokens_too_large"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeNotFound           = "not_found"
	CodeNotImplemented     = "not_implemented"
	CodeUnavailable        = "unavailable"
	CodeTimeout            = "timeout"
	CodeCanceled           = "canceled"
	CodeInternal           = "internal"
	CodeQuotaExceeded      = "quota_exceeded"
)

// statusClientClosed is nginx's convention for "the client went away first";
// it only ever shows up in metrics and logs, since nobody reads the reply.
const statusClientClosed = 499

// apiError is one failed request, rendered in the shape of the API it hit.
type apiError struct {
	status     int
	code       string
	param      string // the offending field, for OpenAI's "param"
	msg        string
	detail     string        // logged, never sent: what went wrong inside (URLs, backend errors)
	retryAfter time.Duration // sent as Retry-After when positive
}

func (e *apiError) Error() string { return e.msg }

func badRequest(code, param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, param: param, msg: fmt.Sprintf(format, args...)}
}

func unknownModel(name string) *apiError {
	return &apiError{status: http.StatusNotFound, code: CodeUnknownModel, param: "model",
		msg: fmt.Sprintf("model '%s' not found", name)}
}

// unavailableRetry is the Retry-After of a 503: about when a backend that
// was down is probed again.
const unavailableRetry = 10 * time.Second

// engineError maps an Engine error to a status and code. Client errors keep
// their message; server-side failures get a fixed message, and the engine's
// own text (which may name backends and their URLs) only goes to the log.
func engineError(err error) *apiError {
	e := &apiError{status: http.StatusInternalServerError, code: CodeInternal, detail: err.Error(),
		msg: "internal error: the node's log has the detail"}
	switch {
	case errors.Is(err, context.Canceled):
		e.status, e.code, e.msg = statusClientClosed, CodeCanceled, "the request was canceled"
	case errors.Is(err, context.DeadlineExceeded):
		e.status, e.code, e.msg = http.StatusGatewayTimeout, CodeTimeout, "the query did not finish within the node's deadline"
	case errors.Is(err, ErrUnknownModel):
		e.status, e.code, e.param, e.msg = http.StatusNotFound, CodeUnknownModel, "model", err.Error()
	case errors.Is(err, ErrBadRequest):
		e.status, e.code, e.msg = http.StatusBadRequest, CodeBadRequest, err.Error()
	case errors.Is(err, ErrUnavailable):
		e.status, e.code, e.retryAfter = http.StatusServiceUnavailable, CodeUnavailable, unavailableRetry
		e.msg = "no model can answer now: the local model, the swarm and the cloud FM are unavailable; try again later"
	}
	return e
}

// apiKind says which API an endpoint belongs to, and so which error shape it speaks.
type apiKind int

const (
	kindNative apiKind = iota + 1
	kindOpenAI
	kindOllama
)

type nativeErrorBody struct {
	Error nativeError `json:"error"`
}

type nativeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type openAIErrorBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type ollamaErrorBody struct {
	Error string `json:"error"`
}

// errorBody renders e in the shape of API kind.
func errorBody(kind apiKind, e *apiError) any {
	switch kind {
	case kindOpenAI:
		typ := "invalid_request_error"
		if e.status >= 500 {
			typ = "server_error"
		}
		oe := openAIError{Message: e.msg, Type: typ}
		if e.param != "" {
			oe.Param = &e.param
		}
		if e.code != "" {
			oe.Code = &e.code
		}
		return openAIErrorBody{Error: oe}
	case kindOllama:
		return ollamaErrorBody{Error: e.msg}
	default:
		return nativeErrorBody{Error: nativeError{Code: e.code, Message: e.msg}}
	}
}
