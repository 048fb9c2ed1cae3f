package okr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := okr.Errorf(okr.ENOTFOUND, "No objective %d.", 42)
	invalid := okr.FieldErrorf("title", "Give it a title.")
	generic := "Something went wrong on our side; it has been logged."
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"*okr.Error", notFound, okr.ENOTFOUND, "No objective 42."},
		{"field error", invalid, okr.EINVALID, "Give it a title."},
		{"wrapped *okr.Error", fmt.Errorf("storage: objective: %w", notFound), okr.ENOTFOUND, "No objective 42."},
		{"doubly wrapped *okr.Error", fmt.Errorf("bot: %w", fmt.Errorf("storage: %w", invalid)), okr.EINVALID, "Give it a title."},
		{"joined with a plain error", errors.Join(errors.New("disk"), notFound), okr.ENOTFOUND, "No objective 42."},
		{"plain error", errors.New("connection refused"), okr.EINTERNAL, generic},
		{"error wrapped with %v loses the code", fmt.Errorf("storage: %v", notFound), okr.EINTERNAL, generic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode got %q, want %q", got, tt.wantCode)
			}
			if got := okr.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage got %q, want %q", got, tt.wantMessage)
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		name string
		err  *okr.Error
		want string
	}{
		{"Errorf", okr.Errorf(okr.ECONFLICT, "Team %q exists.", "Platform"), `okr error: code=conflict message=Team "Platform" exists.`},
		{"FieldErrorf", okr.FieldErrorf("value", "Enter %d%%.", 5), "okr error: code=invalid message=Enter 5%."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() got %q, want %q", got, tt.want)
			}
		})
	}
}
