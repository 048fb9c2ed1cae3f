package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// BenchmarkLoad is the load test of the production set-up: two okrbot
// replicas (the real binary, two Socket Mode connections each) on one
// database and one Slack workspace with Slack's rate limits, sending a
// whole check-in cycle to LOAD_USERS people (default 10,000) while every
// second person answers as their DM arrives: clicks Check in on the DM,
// gets the modal and submits it (the prefilled values, a confidence and a
// blocker).
//
//	go test -run '^$' -bench Load -benchtime 1x -timeout 2h ./cmd/okrbot/
//	LOAD_USERS=2000 go test -run '^$' -bench Load -benchtime 1x -timeout 1h ./cmd/okrbot/
//
// People answer through a pool of LOAD_ANSWERERS goroutines (default 16),
// at most LOAD_ANSWERS_PER_MINUTE clicks a minute in all (default 90):
// each click opens a modal with views.open, which Slack allows about 100
// times a minute per workspace, and a trigger lives 3 s, so people
// clicking faster than that would find modals that never open. 90 a
// minute is 5,400 an hour: half of 10,000 people answer within the hour.
//
// It fails unless everyone got exactly one check-in DM, every answering
// person's check-in is answered in Postgres, and no click or submission
// was refused. It reports the time from starting the replicas to the last
// check-in sent and to the last answer, DMs/s, the answers, the ack
// latency of the clicks and submissions (the emulator's, from writing the
// envelope to reading the ack) and each replica's peak RSS (VmHWM, read
// before it is stopped).
func BenchmarkLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("the load test takes minutes")
	}
	n := envCount(b, "LOAD_USERS", 10000)
	pool := envCount(b, "LOAD_ANSWERERS", 16)
	perMinute := envCount(b, "LOAD_ANSWERS_PER_MINUTE", 90)
	bin := okrbotBinary(b)
	var r loadResult
	for b.Loop() {
		b.StopTimer()
		emu := slackemu.New(slackemu.Options{RateLimits: true, NoTranscript: true})
		f := mustFanout(b, emu, n)
		b.StartTimer()
		r = runLoad(b, bin, f, pool, perMinute)
		b.StopTimer()
		emu.Close()
		b.StartTimer()
	}
	b.ReportMetric(r.sent.Seconds(), "s-all-sent")
	b.ReportMetric(r.total.Seconds(), "s-total")
	b.ReportMetric(float64(n)/r.sent.Seconds(), "DMs/s")
	b.ReportMetric(float64(r.answered), "answered")
	b.ReportMetric(float64(r.failed), "not-answered")
	b.ReportMetric(float64(r.clickAgain), "clicks-again")
	b.ReportMetric(ms(percentile(r.acks, 50)), "ms-p50-ack")
	b.ReportMetric(ms(percentile(r.acks, 99)), "ms-p99-ack")
	b.ReportMetric(ms(slices.Max(append(r.acks, 0))), "ms-max-ack")
	b.ReportMetric(ms(percentile(r.submits, 99)), "ms-p99-submit-ack")
	b.ReportMetric(ms(percentile(r.answerTimes, 99)), "ms-p99-click-to-saved")
	for i, hwm := range r.rss {
		b.ReportMetric(hwm, fmt.Sprintf("MiB-peak-RSS-replica%d", i+1))
	}
}

// loadResult is what one load run measured.
type loadResult struct {
	sent, total time.Duration // from starting the replicas to the last DM recorded sent / the last answer
	answered    int
	acks        []time.Duration // every click and submission
	submits     []time.Duration
	answerTimes []time.Duration // click to submission acked, modal opening included
	rss         []float64       // MiB, per replica
	clickAgain  int             // clicks again after a modal did not open in 10 s
	failed      int             // people who could not answer
}

func runLoad(b *testing.B, bin string, f *fanout, pool, perMinute int) loadResult {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Hour)
	defer cancel()
	emu := f.emu
	var answerers []string
	for i, u := range f.users {
		if i%2 == 0 {
			answerers = append(answerers, u)
		}
	}

	start := time.Now()
	replicas := []*process{
		startProcessWith(b, bin, f, 2, "SOCKET_MODE_CONNECTIONS=2"),
		startProcessWith(b, bin, f, 4, "SOCKET_MODE_CONNECTIONS=2"),
	}

	// Whoever has their DM goes to the pool, in the order the DMs arrive.
	due := make(chan string, len(answerers))
	go func() {
		defer close(due)
		waiting := answerers
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for len(waiting) > 0 {
			var rest []string
			for _, u := range waiting {
				if emu.CountPosts(u) > 0 {
					due <- u
				} else {
					rest = append(rest, u)
				}
			}
			waiting = rest
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		r        loadResult
		failures []string
		retried  int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	pace := rate.NewLimiter(rate.Limit(float64(perMinute)/60), 1)
	answer := func(u string) {
		var dm slackemu.Message
		for _, m := range emu.DM(u) {
			if isCheckinDM(m) {
				dm = m
				break
			}
		}
		if dm.TS == "" {
			fail("%s: a post but no check-in DM", u)
			return
		}
		if err := pace.Wait(ctx); err != nil {
			fail("%s: %v", u, err)
			return
		}
		began := time.Now()
		var view slackemu.View
		// A person whose modal did not open clicks again, as people do.
		for attempt := 1; ; attempt++ {
			before := len(emu.OpenViews(u))
			ack, err := emu.ClickButton(ctx, u, dm.Ref(), "checkin_open")
			if err != nil {
				fail("%s: click: %v", u, err)
				return
			}
			mu.Lock()
			r.acks = append(r.acks, ack.Latency)
			mu.Unlock()
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err = emu.WaitFor(wctx, func() bool {
				if vs := emu.OpenViews(u); len(vs) > before {
					view = vs[len(vs)-1]
					return true
				}
				return false
			})
			wcancel()
			if err == nil {
				break
			}
			if attempt == 3 {
				fail("%s: no modal after %d clicks", u, attempt)
				return
			}
			mu.Lock()
			retried++
			mu.Unlock()
		}
		form, err := checkinAnswers(view.JSON, nil)
		if err != nil {
			fail("%s: %v", u, err)
			return
		}
		ack, err := emu.SubmitView(ctx, u, view.ID, form)
		if err != nil {
			fail("%s: submit: %v", u, err)
			return
		}
		var va viewAck
		if len(ack.Payload) > 0 {
			if err := json.Unmarshal(ack.Payload, &va); err != nil {
				fail("%s: ack payload %s: %v", u, ack.Payload, err)
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		r.acks = append(r.acks, ack.Latency)
		r.submits = append(r.submits, ack.Latency)
		if va.ResponseAction == "errors" || len(va.Errors) > 0 {
			failures = append(failures, fmt.Sprintf("%s: submission refused: %v", u, va.Errors))
			return
		}
		r.answered++
		r.answerTimes = append(r.answerTimes, time.Since(began))
	}
	var wg sync.WaitGroup
	for range pool {
		wg.Go(func() {
			for u := range due {
				answer(u)
			}
		})
	}

	// A check-in answered was sent first.
	tick := time.NewTicker(50 * time.Millisecond)
	for {
		st, err := f.states(ctx)
		if err != nil {
			b.Fatalf("check-in states: %v", err)
		}
		if st[string(okr.Sent)]+st[string(okr.Answered)] == len(f.users) {
			r.sent = time.Since(start)
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			b.Fatalf("check-ins not all sent: %v", st)
		}
	}
	tick.Stop()
	b.Logf("all %d check-ins sent after %s; %d of %d answered so far", len(f.users), r.sent.Round(time.Millisecond), r.answered, len(answerers))
	wg.Wait()
	// The answers are saved before the submission's ack: the last ack is
	// the last answer.
	r.total = time.Since(start)
	loadavg, _ := os.ReadFile("/proc/loadavg")
	b.Logf("all answers in after %s; load average %s", r.total.Round(time.Millisecond), strings.TrimSpace(string(loadavg)))

	for i, p := range replicas {
		hwm, err := vmHWM(strconv.Itoa(p.cmd.Process.Pid))
		if err != nil {
			b.Errorf("replica %d: %v", i+1, err)
		}
		r.rss = append(r.rss, hwm)
	}
	for _, p := range replicas {
		p.kill(b)
	}

	// Zero lost, zero duplicated.
	var lost, twice []string
	for _, u := range f.users {
		switch c := checkinDMCount(emu, u); {
		case c == 0:
			lost = append(lost, u)
		case c > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", u, c))
		}
	}
	if len(lost) > 0 || len(twice) > 0 {
		b.Errorf("got %d people without a check-in DM %v and %d with several %v, want exactly one each",
			len(lost), firstFew(lost), len(twice), firstFew(twice))
	}
	var answered []string
	if err := queryStrings(f.st.DB().DB, &answered, `SELECT user_id FROM checkins WHERE state = $1 ORDER BY user_id`, string(okr.Answered)); err != nil {
		b.Fatal(err)
	}
	if got := slices.Compact(answered); len(got) != len(answerers) || !slices.Equal(got, answerers) {
		b.Errorf("got %d answered check-ins in Postgres (%d people), want the %d people who answered", len(answered), len(got), len(answerers))
	}
	states, err := f.states(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r.clickAgain, r.failed = retried, len(failures)
	tooLong := 0
	for _, u := range answerers {
		for _, m := range emu.Ephemerals(u) {
			if strings.Contains(m.Text, "took too long") {
				tooLong++
			}
		}
	}
	b.Logf("%d times a person was told Slack took too long to open the form", tooLong)
	if len(failures) > 0 {
		b.Errorf("%d of %d people could not answer: %v", len(failures), len(answerers), firstFew(failures))
	}
	b.Logf("check-ins %v; %d clicks again after a modal did not open; %d posts besides check-in DMs; chat.postMessage answered 429 %d times, views.open %d",
		states, retried, emu.CountPosts("")-checkinDMs(emu, f.users), emu.RateLimited("chat.postMessage"), emu.RateLimited("views.open"))
	for i, p := range replicas {
		logs := p.logs.String()
		b.Logf("replica %d: %d error and %d warning lines in its log", i+1,
			strings.Count(logs, `"level":"ERROR"`), strings.Count(logs, `"level":"WARN"`))
		seen := map[string]bool{}
		for line := range strings.Lines(logs) {
			if msg := logMsg(line); msg != "" && !seen[msg] && !strings.Contains(line, `"level":"INFO"`) && len(seen) < 5 {
				seen[msg] = true
				b.Logf("replica %d: %s", i+1, strings.TrimSpace(line))
			}
		}
		if b.Failed() {
			b.Logf("replica %d log tail:\n%s", i+1, logs[max(0, len(logs)-4000):])
		}
	}
	return r
}

// envCount reads a positive whole number from the environment, or def.
func envCount(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil || v < 1 {
		tb.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return v
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// logMsg returns the msg of a JSON log line, or "".
func logMsg(line string) string {
	var l struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal([]byte(line), &l) != nil {
		return ""
	}
	return l.Msg
}
