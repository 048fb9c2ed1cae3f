package slackemu

import (
	"testing"
	"time"
)

func TestRetryAfterMatchesRefill(t *testing.T) {
	l := newLimiter()
	t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	for i := range 5 { // users.list: Tier 2, burst 5, one token per 3s
		if _, limited := l.allow("users.list", "", t0); limited {
			t.Fatalf("call %d limited", i)
		}
	}
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{0, 3}, {time.Second, 2}, {2500 * time.Millisecond, 1}, {2999 * time.Millisecond, 1}} {
		wait, limited := l.allow("users.list", "", t0.Add(tc.after))
		if !limited || wait != tc.want {
			t.Errorf("after %v: got Retry-After %d (limited %v), want %d", tc.after, wait, limited, tc.want)
		}
	}
	if _, limited := l.allow("users.list", "", t0.Add(3*time.Second)); limited {
		t.Errorf("limited after waiting the Retry-After")
	}
	if got := retryAfterSeconds(time.Microsecond); got != 1 {
		t.Errorf("tiny wait: got %d, want 1", got)
	}
}
