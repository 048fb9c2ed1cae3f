// Package okr holds okrbot's domain: teams, periods, objectives, key results,
// KPIs, check-ins and alerts, with the product's arithmetic as pure functions.
//
// It must import nothing of okrbot's own and nothing of Slack's: the transport
// (bot), the store (storage) and the scheduler depend on it, never the reverse.
package okr

import (
	"errors"
	"fmt"
)

// Error codes, in the manner of an HTTP status: the transport turns them into words.
const (
	EINVALID   = "invalid"   // the input breaks a rule; Message says which
	ENOTFOUND  = "not_found" // the thing asked for does not exist
	EFORBIDDEN = "forbidden" // the person may not do this; Message says why
	ECONFLICT  = "conflict"  // it exists already, or the state moved on
	EINTERNAL  = "internal"  // anything else: logged, never shown in detail

	// EUNDELIVERABLE says a message cannot reach a person, for good
	// (deactivated, unknown, a bot); Message is the reason.
	EUNDELIVERABLE = "undeliverable"
	// ENOTHING says there was nothing to do: a scheduled report of a team
	// with nothing to report is not posted.
	ENOTHING = "nothing"
)

// Error is a domain error with a code and a message that is safe to show a user.
type Error struct {
	Code    string
	Message string
	// Field names the input the message is about, when there is one.
	Field string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("okr error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one named field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the *Error in err's chain, or
// a generic one for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side; it has been logged."
}
