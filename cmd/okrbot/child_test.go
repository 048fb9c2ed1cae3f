package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/slackemu"
)

// childEnv, set in a test binary's environment, makes it okrbot run: the
// whole program configured from the environment, as the real binary is
// (its garbage collector tuned the same way), but with the bot's own Slack
// rate limiter off, which the real binary cannot turn off.
const childEnv = "OKRBOT_TEST_CHILD"

// runChild runs okrbot in a child test process and returns its exit code.
func runChild() int {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := LoadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "okrbot:", err)
		return 2
	}
	if path := os.Getenv(childEnv + "_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "okrbot:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "okrbot:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := runBot(ctx, cfg, os.Stderr, func(m *Main) { m.NoRateLimit = true }); err != nil {
		fmt.Fprintln(os.Stderr, "okrbot:", err)
		return exitCode(err)
	}
	return 0
}

// mustStartChild runs okrbot as a process of its own (this test binary,
// see childEnv) against a new emulator with the demo workspace, in this
// process, and a fresh database, and waits until its sockets are
// connected. The emulator stands for Slack, whose work is not the bot's:
// in a process of its own the bot's scheduler and garbage collector serve
// the bot alone, as in production. SOCKET_MODE_CONNECTIONS comes from this
// process's environment when set, else it is 4, as in the Kubernetes
// manifest. The process gets SIGTERM when the test ends; with
// OKRBOT_TEST_CHILD_CPUPROFILE set to a file name, it writes its CPU
// profile there.
func mustStartChild(tb testing.TB, opts slackemu.Options) *harness {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Skipf("cannot run this test binary again: %v", err)
	}
	emu := slackemu.New(opts)
	tb.Cleanup(emu.Close)
	demoWorkspace(emu)
	conns := os.Getenv("SOCKET_MODE_CONNECTIONS")
	if conns == "" {
		conns = "4" // as in manifests/kubernetes/deployment.yaml
	}
	p := &process{cmd: exec.Command(self), logs: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), childEnv+"=1",
		"SLACK_BOT_TOKEN="+emu.BotToken(), "SLACK_APP_TOKEN="+emu.AppToken(), "SLACK_API_URL="+emu.APIURL(),
		"DATABASE_URL="+pgtest.FreshDatabase(tb), "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=info",
		"DEFAULT_TIMEZONE=UTC", "FISCAL_YEAR_START_MONTH=1", "SOCKET_MODE_CONNECTIONS="+conns)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	tb.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.kill(tb)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	fmt.Sscan(conns, &n)
	if err := emu.WaitConnections(ctx, max(1, n)); err != nil {
		tb.Fatalf("okrbot did not connect: %v\n%s", err, p.logs)
	}
	return &harness{emu: emu, p: &player{emu: emu}, logs: p.logs}
}
