package bot

import (
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Slack's rate tiers, per method and workspace, in calls per minute, and the
// methods the bot calls in each. chat.postMessage has its own limit: Slack
// allows "several hundred per minute" across a workspace.
var methodTiers = map[string]int{
	"apps.connections.open":        1,
	"users.list":                   20,
	"chat.update":                  50,
	"chat.delete":                  50,
	"conversations.open":           50,
	"conversations.history":        50,
	"conversations.info":           50,
	"chat.postEphemeral":           100,
	"views.open":                   100,
	"views.push":                   100,
	"views.update":                 100,
	"views.publish":                100,
	"users.info":                   100,
	"auth.test":                    100,
	"files.getUploadURLExternal":   100,
	"files.completeUploadExternal": 100,
	"chat.postMessage":             600,
	"conversations.members":        100,
}

// limitedTransport keeps Web API calls within Slack's limits: a token bucket
// per method, and a pause for a method Slack answered 429 with Retry-After.
type limitedTransport struct {
	base http.RoundTripper
	// limit is false when only observing (benchmarks without limits).
	limit bool
	obs   Observer

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	paused   map[string]time.Time
}

// idleConnsPerHost is how many idle connections to Slack are kept: more
// than the calls a fan-out has in flight.
const idleConnsPerHost = 64

func newLimitedTransport(base http.RoundTripper, limit bool, obs Observer) *limitedTransport {
	if base == nil {
		// Keep a connection per DM in flight: the default keeps two idle
		// per host, so a fan-out dialled Slack again for most posts.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = idleConnsPerHost
		base = t
	}
	return &limitedTransport{base: base, limit: limit, obs: obs, limiters: map[string]*rate.Limiter{}, paused: map[string]time.Time{}}
}

// limiter returns a method's bucket: its tier's rate, with a burst of a
// tenth of a minute's worth (at least one).
func (t *limitedTransport) limiter(method string) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.limiters[method]
	if !ok {
		perMinute, known := methodTiers[method]
		if !known {
			perMinute = 50 // Slack's usual tier for the rest
		}
		l = rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, perMinute/10))
		t.limiters[method] = l
	}
	return l
}

// RoundTrip waits for the method's turn, then calls Slack, and tells the
// observer how it went.
func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	if _, known := methodTiers[method]; !known && !isWebAPI(req) {
		return t.base.RoundTrip(req) // response URLs, file uploads
	}
	start := time.Now()
	resp, err := t.call(req, method)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.obs.SlackCall(method, status, time.Since(start))
	if err == nil && resp.StatusCode == http.StatusOK && echoedViews[method] {
		trimViewEcho(resp)
	}
	return resp, err
}

func (t *limitedTransport) call(req *http.Request, method string) (*http.Response, error) {
	if !t.limit || method == "apps.connections.open" {
		return t.base.RoundTrip(req) // the socket's own calls back off by themselves
	}
	t.mu.Lock()
	until := t.paused[method]
	t.mu.Unlock()
	if d := time.Until(until); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		}
	}
	if err := t.limiter(method).Wait(req.Context()); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			t.mu.Lock()
			if next := time.Now().Add(time.Duration(s) * time.Second); next.After(t.paused[method]) {
				t.paused[method] = next
			}
			t.mu.Unlock()
		}
	}
	return resp, err
}

// isWebAPI reports whether a request is a Web API method call: a POST to a
// path whose last part is a dotted method name.
func isWebAPI(req *http.Request) bool {
	base := path.Base(req.URL.Path)
	for i := 0; i < len(base); i++ {
		if base[i] == '.' {
			return req.Method == http.MethodPost
		}
	}
	return false
}
