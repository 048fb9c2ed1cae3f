package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/bot"
	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/slackemu"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	pgtest.Main(m)
}

// harness is the whole program running in-process against the emulator and
// a fresh database of its own.
type harness struct {
	emu  *slackemu.Server
	main *Main
	p    *player
	logs *lockedBuffer
}

// mustStart runs okrbot against a new emulator with the demo workspace and
// waits until its sockets are connected.
func mustStart(tb testing.TB, opts slackemu.Options) *harness {
	tb.Helper()
	return mustStartWith(tb, opts, nil)
}

// mustStartWith is mustStart with a hook that may change the configuration
// and the program before it runs.
func mustStartWith(tb testing.TB, opts slackemu.Options, tune func(*Config, *Main)) *harness {
	tb.Helper()
	emu := slackemu.New(opts)
	tb.Cleanup(emu.Close)
	demoWorkspace(emu)

	cfg := Config{
		SlackBotToken: emu.BotToken(), SlackAppToken: emu.AppToken(), SlackAPIURL: emu.APIURL(),
		DatabaseURL: pgtest.FreshDatabase(tb), HTTPAddr: "127.0.0.1:0",
		LogLevel: "debug", DefaultTimezone: "UTC", FiscalYearStartMonth: "1",
	}
	logs := &lockedBuffer{}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if tune != nil {
		tune(&cfg, m)
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		tb.Fatalf("config: %v", err)
	}
	m.Config = cfg
	runMain(tb, m, nil).waitReady(tb)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := emu.WaitConnections(wctx, cfg.conns); err != nil {
		tb.Fatalf("okrbot did not connect: %v", err)
	}
	return &harness{emu: emu, main: m, p: &player{emu: emu}, logs: logs}
}

// running is an okrbot a test runs in the background.
type running struct {
	m    *Main
	done chan error
	// stop cancels it, waits for Run to return nil and closes it, once;
	// it is also called when the test ends.
	stop func()
}

// runMain runs m in the background until the test ends or stop is called;
// afterStop, if set, runs once it has stopped.
func runMain(tb testing.TB, m *Main, afterStop func()) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-r.done; err != nil {
				tb.Errorf("Run returned %v after shutdown, want nil", err)
			}
			m.Close()
			if afterStop != nil {
				afterStop()
			}
		})
	}
	tb.Cleanup(r.stop)
	return r
}

// waitReady waits until the okrbot has started, failing the test if it
// stopped or took over 20 s.
func (r *running) waitReady(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case <-r.m.Ready():
	case err := <-r.done:
		r.done <- err
		tb.Fatalf("okrbot stopped at start-up: %v", err)
	case <-ctx.Done():
		tb.Fatal("okrbot did not start")
	}
}

// slash runs a command and returns the text of the reply.
func (h *harness) slash(tb testing.TB, user, text string) string {
	tb.Helper()
	m, err := h.p.slash(context.Background(), user, demoChannel, text)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Text + "\n" + slackemu.RenderBlocks(m.Blocks)
}

// mustContain fails unless got contains every want.
func mustContain(tb testing.TB, got string, want ...string) {
	tb.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			tb.Errorf("got %q, want it to contain %q", got, w)
		}
	}
}

// withTeam creates the Platform team led by alice with bob and chen in it.
func (h *harness) withTeam(tb testing.TB) {
	tb.Helper()
	mustContain(tb, h.slash(tb, alice, "team create Platform"), "created the team *Platform*")
	mustContain(tb, h.slash(tb, alice, "team add <@U0BOB|bob> <@U0CHEN|chen>"), "Added <@U0BOB> and <@U0CHEN> to *Platform*")
}

func TestConfigErrors(t *testing.T) {
	base := map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-secret-bot", "SLACK_APP_TOKEN": "xapp-secret-app",
		"DATABASE_URL":  "postgres://okrbot:hunter2@db:5432/okrbot?sslmode=disable",
		"SLACK_API_URL": "", "HTTP_ADDR": "", "LOG_LEVEL": "", "DEFAULT_TIMEZONE": "", "FISCAL_YEAR_START_MONTH": "",
	}
	tests := []struct {
		name, key, value, want string
	}{
		{"no bot token", "SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN is not set"},
		{"user token as bot token", "SLACK_BOT_TOKEN", "xoxp-secret-user", "SLACK_BOT_TOKEN must start with xoxb-"},
		{"no app token", "SLACK_APP_TOKEN", "", "SLACK_APP_TOKEN is not set"},
		{"bot token as app token", "SLACK_APP_TOKEN", "xoxb-secret-bot2", "SLACK_APP_TOKEN must start with xapp-"},
		{"no database", "DATABASE_URL", "", "DATABASE_URL is not set"},
		{"mysql database", "DATABASE_URL", "mysql://root:hunter2@db/okrbot", "DATABASE_URL must be a postgres:// URL"},
		{"bad api url", "SLACK_API_URL", "slack.com/api", "SLACK_API_URL must be an http(s) URL"},
		{"bad http addr", "HTTP_ADDR", "8080", "HTTP_ADDR must be host:port or :port"},
		{"bad log level", "LOG_LEVEL", "loud", "LOG_LEVEL must be debug, info, warn or error"},
		{"bad time zone", "DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE must be an IANA time zone"},
		{"month 13", "FISCAL_YEAR_START_MONTH", "13", "FISCAL_YEAR_START_MONTH must be a month number from 1 to 12"},
		{"month word", "FISCAL_YEAR_START_MONTH", "April", "FISCAL_YEAR_START_MONTH must be a month number from 1 to 12"},
		{"lease without unit", "CHECKIN_CLAIM_LEASE", "120", "CHECKIN_CLAIM_LEASE must be a duration from 5s to 1h"},
		{"lease too short", "CHECKIN_CLAIM_LEASE", "1s", "CHECKIN_CLAIM_LEASE must be a duration from 5s to 1h"},
		{"eleven connections", "SOCKET_MODE_CONNECTIONS", "11", "SOCKET_MODE_CONNECTIONS must be a whole number from 1 to 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			t.Setenv(tt.key, tt.value)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"run"}, &stdout, &stderr)
			if err == nil {
				t.Fatal("run succeeded, want a configuration error")
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("got exit code %d, want 2", got)
			}
			msg := err.Error()
			mustContain(t, msg, tt.want)
			if strings.Contains(msg, "\n") {
				t.Errorf("got a message of several lines %q, want one line", msg)
			}
			for _, secret := range []string{"secret", "hunter2"} {
				if strings.Contains(msg+stderr.String()+stdout.String(), secret) {
					t.Errorf("a secret leaked: %q", msg)
				}
			}
		})
	}
}

func TestUsageListsCommandsAndVariables(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	mustContain(t, out.String(), "run ", "migrate ", "demo ", "version ")
	for _, d := range envDoc {
		mustContain(t, out.String(), d[0])
	}
	err := run(context.Background(), []string{"frobnicate"}, io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 {
		t.Errorf("unknown command: got %v (exit %d), want a usage error", err, exitCode(err))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + h.main.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: got %d, want 200", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz: got %d %q, want 200", code, body)
	}

	// Cut the socket and refuse every reconnect: readiness must say so.
	h.emu.FailNextDials(1 << 20)
	h.emu.DropConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body string
	err := h.emu.WaitFor(ctx, func() bool {
		var code int
		code, body = get("/readyz")
		return code == http.StatusServiceUnavailable
	})
	if err != nil {
		t.Fatalf("/readyz stayed ready without a socket (last body %q)", body)
	}
	mustContain(t, body, "Slack socket not connected")
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz without a socket: got %d, want 200 (the process is alive)", code)
	}
	h.emu.FailNextDials(0)
}

func TestReconnectAfterDisconnect(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	dials := h.emu.Dials()
	h.emu.Disconnect("refresh_requested")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(ctx, func() bool { return h.emu.Dials() > dials && h.emu.Connections() == bot.DefaultConnections }); err != nil {
		t.Fatalf("the bot did not reconnect after disconnect: dials %d → %d, connections %d", dials, h.emu.Dials(), h.emu.Connections())
	}
	// And it still works.
	mustContain(t, h.slash(t, alice, "help"), "/okr team create NAME")
}

func TestRedeliveredEventChangesNothing(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	ctx := context.Background()
	ack, err := h.emu.OpenHome(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(wctx, func() bool { return h.emu.Calls("views.publish") == 1 }); err != nil {
		t.Fatalf("home not published: %d calls", h.emu.Calls("views.publish"))
	}
	if _, err := h.emu.Redeliver(ctx, ack.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if err := h.logs.waitFor(wctx, "redelivered event ignored"); err != nil {
		t.Fatal("the redelivery was not recognised as one")
	}
	resp, err := http.Get("http://" + h.main.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `okrbot_envelopes_redelivered_total{type="events_api"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics has no %s", want)
	}
	// A later, distinct event is handled as usual.
	if _, err := h.emu.OpenHome(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.WaitFor(wctx, func() bool { return h.emu.Calls("views.publish") >= 2 }); err != nil {
		t.Fatal("second home opening not handled")
	}
	if got := h.emu.Calls("views.publish"); got != 2 {
		t.Errorf("got %d views.publish calls, want 2 (the redelivery must do nothing)", got)
	}
}

func TestGracefulShutdown(t *testing.T) {
	emu := slackemu.New(slackemu.Options{})
	defer emu.Close()
	cfg := Config{
		SlackBotToken: emu.BotToken(), SlackAppToken: emu.AppToken(), SlackAPIURL: emu.APIURL(),
		DatabaseURL: pgtest.FreshDatabase(t), HTTPAddr: "127.0.0.1:0",
		LogLevel: "info", DefaultTimezone: "UTC", FiscalYearStartMonth: "1",
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := emu.WaitConnections(wctx, bot.DefaultConnections); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	case <-wctx.Done():
		t.Fatal("Run did not return after its context ended")
	}
	if err := emu.WaitConnections(wctx, 0); err != nil {
		t.Errorf("socket still open after shutdown: %d connections", emu.Connections())
	}
}

func TestBadTokenStopsRun(t *testing.T) {
	emu := slackemu.New(slackemu.Options{})
	defer emu.Close()
	cfg := Config{
		SlackBotToken: emu.BotToken(), SlackAppToken: "xapp-1-wrong", SlackAPIURL: emu.APIURL(),
		DatabaseURL: pgtest.FreshDatabase(t), HTTPAddr: "127.0.0.1:0",
		LogLevel: "info", DefaultTimezone: "UTC", FiscalYearStartMonth: "1",
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := m.Run(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want Run to stop on a refused token", err)
	}
	mustContain(t, err.Error(), "invalid_auth")
	if strings.Contains(err.Error()+logs.String(), "wrong") {
		t.Errorf("the token leaked: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	rounds := newRounds()
	h := mustStartWith(t, slackemu.Options{}, func(_ *Config, m *Main) { m.JobDone = rounds.JobDone })
	h.withTeam(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rounds.waitRound(ctx, time.Unix(1, 0)); err != nil { // any round: the one at start
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + h.main.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: got %d", resp.StatusCode)
	}
	for _, want := range []string{
		`okrbot_envelopes_total{outcome="ok",type="slash_commands"} 2`,
		`okrbot_ack_latency_seconds_bucket{type="slash_commands"`,
		`okrbot_slack_api_calls_total{method="users.info",status="200"}`,
		`okrbot_job_runs_total{job="checkins",outcome="ok"}`,
		`go_sql_open_connections{db_name="okrbot"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	for _, secret := range []string{h.emu.BotToken(), h.emu.AppToken()} {
		if strings.Contains(string(body)+h.logs.String(), secret) {
			t.Errorf("a token leaked into metrics or logs")
		}
	}
}
