package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/swarmllm/swarmllm/router"
)

// decodeJSON decodes a request body; any syntax or type error is malformed JSON.
func decodeJSON(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		param := ""
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			param = te.Field
		}
		return badRequest(CodeMalformedJSON, param, "malformed JSON body: %v", err)
	}
	return nil
}

// parsePolicy accepts a policy name; "" means the node's default.
func parsePolicy(name string) (router.Policy, *apiError) {
	if strings.TrimSpace(name) == "" {
		return "", nil
	}
	p, err := router.ParsePolicy(name)
	if err != nil {
		return "", badRequest(CodeUnknownPolicy, "policy", "%v", err)
	}
	return p, nil
}

// validateRequest checks what every API shares: roles, a non-empty prompt
// within the cap, and sane options. Checked before any engine call, so bad
// input changes nothing.
func validateRequest(req *Request, maxPromptBytes int) *apiError {
	if len(req.Messages) == 0 {
		return badRequest(CodeEmptyPrompt, "messages", "messages must not be empty")
	}
	if len(req.Messages) > MaxMessages {
		return badRequest(CodeTooManyMessages, "messages", "%d messages, over the cap of %d", len(req.Messages), MaxMessages)
	}
	size, blank := 0, true
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant, RoleTool:
		default:
			return badRequest(CodeBadRequest, fmt.Sprintf("messages[%d].role", i),
				"messages[%d]: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
		size += len(m.Content)
		if m.Role != RoleSystem && strings.TrimSpace(m.Content) != "" {
			blank = false
		}
	}
	if size > maxPromptBytes {
		return badRequest(CodePromptTooLarge, "messages", "prompt is %d bytes, over the cap of %d bytes", size, maxPromptBytes)
	}
	if blank {
		return badRequest(CodeEmptyPrompt, "messages", "prompt is empty: no user or assistant message has any text")
	}
	o := req.Options
	if o.Temperature != nil && (*o.Temperature < 0 || *o.Temperature > 2) {
		return badRequest(CodeBadRequest, "temperature", "temperature %g not in [0, 2]", *o.Temperature)
	}
	if o.MaxTokens < 0 {
		return badRequest(CodeBadRequest, "max_tokens", "max_tokens %d must not be negative", o.MaxTokens)
	}
	if o.MaxTokens > MaxCompletionTokens {
		return badRequest(CodeMaxTokensTooLarge, "max_tokens", "max_tokens %d is over the cap of %d", o.MaxTokens, MaxCompletionTokens)
	}
	return nil
}

// splitText cuts a finished answer into word-sized pieces (each word with the
// whitespace after it) for streaming APIs; concatenated they give back text.
func splitText(text string) []string {
	var pieces []string
	start, inSpace := 0, false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if inSpace && !space {
			pieces = append(pieces, text[start:i])
			start = i
		}
		inSpace = space
	}
	if start < len(text) {
		pieces = append(pieces, text[start:])
	}
	return pieces
}

func finishReason(resp *Response) string {
	if resp.FinishReason == "" {
		return FinishStop
	}
	return resp.FinishReason
}
