package slackemu

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: capacity tokens, refilled at rate tokens per second.
type bucket struct {
	tokens, capacity, rate float64
	last                   time.Time
}

// take takes a token, or returns how long until one is available.
func (b *bucket) take(now time.Time) (time.Duration, bool) {
	if b.last.IsZero() {
		b.tokens = b.capacity
	} else {
		b.tokens = math.Min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1-1e-9 { // tolerate float error: waiting the reported time must suffice
		b.tokens = max(0, b.tokens-1)
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), false
}

// tierLimit is a rate: perMinute sustained, burst at once.
type tierLimit struct{ perMinute, burst float64 }

// Slack's tiers, with a small burst.
var (
	tier1 = tierLimit{perMinute: 1, burst: 10} // generous, so reconnect tests work
	tier2 = tierLimit{perMinute: 20, burst: 5}
	tier3 = tierLimit{perMinute: 50, burst: 10}
	tier4 = tierLimit{perMinute: 100, burst: 20}

	postPerChannel   = tierLimit{perMinute: 60, burst: 5}
	postPerWorkspace = tierLimit{perMinute: 600, burst: 100}
)

// methodTiers maps Web API methods to their rate tier; unlisted methods are tier 3.
var methodTiers = map[string]tierLimit{
	"apps.connections.open":        tier1,
	"users.list":                   tier2,
	"chat.update":                  tier3,
	"chat.delete":                  tier3,
	"conversations.open":           tier3,
	"conversations.info":           tier3,
	"conversations.history":        tier3,
	"chat.postEphemeral":           tier4,
	"views.open":                   tier4,
	"views.push":                   tier4,
	"views.update":                 tier4,
	"views.publish":                tier4,
	"users.info":                   tier4,
	"conversations.members":        tier4,
	"files.getUploadURLExternal":   tier4,
	"files.completeUploadExternal": tier4,
	"auth.test":                    tier4,
}

// limiter holds the rate-limit buckets, injected faults and latencies.
type limiter struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	faults    map[string][]int
	latencies map[string]time.Duration
}

func newLimiter() *limiter {
	return &limiter{buckets: map[string]*bucket{}, faults: map[string][]int{}, latencies: map[string]time.Duration{}}
}

func (l *limiter) bucket(key string, t tierLimit) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{capacity: t.burst, rate: t.perMinute / 60}
		l.buckets[key] = b
	}
	return b
}

// allow takes a token for the method (and channel, for chat.postMessage); when
// limited it returns the Retry-After: the time until the limiting bucket holds a
// token again, in whole seconds rounded up, at least 1.
func (l *limiter) allow(method, channel string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	var ok bool
	if method == "chat.postMessage" {
		if wait, ok = l.bucket("chat.postMessage", postPerWorkspace).take(now); ok {
			if wait, ok = l.bucket("chat.postMessage#"+channel, postPerChannel).take(now); !ok {
				l.buckets["chat.postMessage"].tokens++ // give the workspace token back
			}
		}
	} else {
		t, known := methodTiers[method]
		if !known {
			t = tier3
		}
		wait, ok = l.bucket(method, t).take(now)
	}
	if ok {
		return 0, false
	}
	return retryAfterSeconds(wait), true
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, so a client
// that waits that long finds a token.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

func (l *limiter) injected(method string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.faults[method]
	if len(q) == 0 {
		return 0, false
	}
	l.faults[method] = q[1:]
	return q[0], true
}

func (l *limiter) latency(method string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latencies[method]
}

// InjectErrors makes the next n calls of a Web API method answer the HTTP status
// (a 429 comes with Retry-After: 1 and error "ratelimited", others with error
// "internal_error").
func (s *Server) InjectErrors(method string, status, n int) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	for range n {
		s.limits.faults[method] = append(s.limits.faults[method], status)
	}
}

// SetLatency delays every answer of a Web API method by d (0 removes the delay).
func (s *Server) SetLatency(method string, d time.Duration) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.latencies[method] = d
}
