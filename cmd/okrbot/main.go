// Command okrbot runs the okrbot Slack app: `okrbot run` (the default),
// `okrbot migrate`, `okrbot demo` and `okrbot version`.
//
// This package only wires the parts together: configuration, the store, the
// Slack bot and the HTTP endpoints.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // time zones in a static image too

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/bot"
	"github.com/okrbot/okrbot/chart"
	"github.com/okrbot/okrbot/scheduler"
	"github.com/okrbot/okrbot/storage"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// Compile-time checks that the store is what the bot and the scheduler need.
var (
	_ bot.Store           = (*storage.Store)(nil)
	_ scheduler.Store     = (*storage.Store)(nil)
	_ scheduler.Messenger = (*bot.Bot)(nil)
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "okrbot:", err)
		os.Exit(exitCode(err))
	}
}

// tuneGC collects garbage less often than Go's default while the heap is
// small, within a soft memory limit, unless GOGC or GOMEMLIMIT say
// otherwise: bursts of Slack envelopes allocate a lot of short-lived JSON,
// and every collection competes with the socket readers that must ack in
// time (see docs/BENCHMARKS.md).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
}

// usageError marks a command line or configuration problem: exit code 2.
type usageError struct{ error }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run dispatches a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "-h", "--help", "help":
		printUsage(stdout)
		return nil
	case "version":
		fmt.Fprintln(stdout, "okrbot", Version)
		return nil
	}
	cfg, err := LoadConfig()
	if err != nil {
		return usageError{err}
	}
	switch cmd {
	case "run":
		return runBot(ctx, cfg, stderr, nil)
	case "migrate":
		if err := cfg.Validate(needDatabase); err != nil {
			return usageError{err}
		}
		return migrate(ctx, cfg, newLogger(stderr, cfg.logLevel))
	case "healthcheck":
		if err := cfg.Validate(0); err != nil {
			return usageError{err}
		}
		return healthcheck(ctx, cfg.HTTPAddr)
	case "demo":
		if err := cfg.Validate(0); err != nil {
			return usageError{err}
		}
		return demo(ctx, cfg, demoDatabaseName, stdout, stderr)
	}
	printUsage(stderr)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// runBot is `okrbot run`: it serves until ctx ends. tune, when set, may
// change the program before it runs (tests).
func runBot(ctx context.Context, cfg Config, stderr io.Writer, tune func(*Main)) error {
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		return usageError{err}
	}
	m := NewMain(cfg, newLogger(stderr, cfg.logLevel))
	defer m.Close()
	if tune != nil {
		tune(m)
	}
	return m.Run(ctx)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `okrbot runs OKRs and KPIs in Slack.

Usage: okrbot [command]

Commands:
  run       connect to Slack and serve (the default)
  migrate   apply database migrations and exit
  demo      play a scripted week against a built-in Slack emulator and print what users see
  healthcheck  ask the running okrbot on HTTP_ADDR whether it is alive (for container health checks)
  version   print the version

Environment:
`)
	for _, d := range envDoc {
		fmt.Fprintf(w, "  %-24s %s\n", d[0], d[1])
	}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func migrate(ctx context.Context, cfg Config, log *slog.Logger) error {
	st, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	log.Info("database is up to date")
	return nil
}

// healthcheck asks the okrbot listening on addr for /healthz.
func healthcheck(ctx context.Context, addr string) error {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}

// Main is the running program, separate from main() so tests can run it
// whole, in-process.
type Main struct {
	Config Config
	Log    *slog.Logger
	// Clock drives the bot, the store and the scheduler; the real clock when
	// nil. Tests pass a fake one.
	Clock clockwork.Clock

	Store *storage.Store
	Bot   *bot.Bot

	// NoRateLimit turns the bot's own Slack rate limiter off (benchmarks).
	NoRateLimit bool
	// JobDone is told of every finished scheduled run (tests, the demo).
	JobDone func(job string, started time.Time)
	// LeaseTTL is how long the scheduler lease outlives a dead replica;
	// the scheduler's default when zero (tests shorten it).
	LeaseTTL time.Duration

	metrics *metrics

	httpLn net.Listener
	ready  chan struct{}
}

// instanceID names a running okrbot in the claims and leases it takes:
// host, pid and a random part, so two in one process differ too.
func instanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// NewMain returns a program for a validated configuration.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log, ready: make(chan struct{})}
}

// Ready is closed once the store is open and HTTP listens.
func (m *Main) Ready() <-chan struct{} { return m.ready }

// HTTPAddr returns the address HTTP listens on, once Ready.
func (m *Main) HTTPAddr() string { return m.httpLn.Addr().String() }

// Run opens the store, migrates it, serves HTTP and runs the bot until ctx
// ends, then shuts down cleanly.
func (m *Main) Run(ctx context.Context) error {
	if m.Clock == nil {
		m.Clock = clockwork.NewRealClock()
	}
	now := m.Clock.Now
	st, err := storage.Open(ctx, m.Config.DatabaseURL)
	if err != nil {
		return err
	}
	m.Store = st
	st.Now = now
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	m.metrics = newMetrics()
	m.metrics.watchDB(st.DB().DB)
	id := instanceID()
	var sched *scheduler.Scheduler
	m.Bot = bot.New(bot.Config{
		BotToken:        m.Config.SlackBotToken,
		AppToken:        m.Config.SlackAppToken,
		APIURL:          m.Config.SlackAPIURL,
		FiscalYearStart: m.Config.fyStart,
		Location:        m.Config.location,
		Logger:          m.Log,
		Now:             now,
		CheckinsNow:     func() { sched.CheckinsNow() },
		AlertsNow:       func() { sched.AlertsNow() },
		ReportsNow:      func() { sched.ReportsNow() },
		Chart:           chart.Progress,
		NoRateLimit:     m.NoRateLimit,
		Connections:     m.Config.conns,
		Observer:        m.metrics,
	}, st)
	sched, err = scheduler.New(scheduler.Config{
		Location: m.Config.location, FiscalYearStart: m.Config.fyStart, Logger: m.Log, Clock: m.Clock, InstanceID: id,
		ClaimLease: m.Config.lease, JobDone: m.JobDone, Observer: m.metrics,
		Leader: st, LeaseTTL: m.LeaseTTL,
	}, st, m.Bot)
	if err != nil {
		return err
	}

	m.httpLn, err = net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", m.Config.HTTPAddr, err)
	}
	srv := &http.Server{Handler: m.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("http server stopped", slog.String("error", err.Error()))
		}
	}()
	sched.Start()
	close(m.ready)
	m.Log.Info("okrbot started", slog.String("version", Version), slog.String("http_addr", m.httpLn.Addr().String()))

	err = m.Bot.Run(ctx)

	if serr := sched.Shutdown(); serr != nil {
		m.Log.Error("scheduler shutdown", slog.String("error", serr.Error()))
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	m.Log.Info("okrbot stopped")
	return err
}

// Close releases what Run opened.
func (m *Main) Close() error {
	if m.Store != nil {
		return m.Store.Close()
	}
	return nil
}

// routes serves health checks.
func (m *Main) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		if err := m.Store.Ping(ctx); err != nil {
			problems = append(problems, "database unreachable")
		}
		if !m.Bot.Connected() {
			problems = append(problems, "Slack socket not connected")
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
