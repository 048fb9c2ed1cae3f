package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
	"github.com/okrbot/okrbot/storage"
)

// The fan-out of weekly check-ins: every person owning a key result gets
// exactly one DM, however the senders die and come back.

// Check-in fan-out settings of the kill test.
const (
	fanoutKillUsers = 120 // people owed a check-in
	fanoutKillAfter = 100 // DMs out before the first okrbot is killed
)

// fanout is a workspace where n people each own a key result of one team,
// with their check-ins of the current cycle stored and due.
type fanout struct {
	emu   *slackemu.Server
	st    *storage.Store
	dbURL string
	users []string
}

// mustFanout adds n people to the emulator and, in a fresh database, a team
// with all of them, objectives of this quarter whose key results they own
// (one each), their Slack profiles cached (so nobody waits for users.info)
// and their check-ins of the current cycle, due already.
func mustFanout(tb testing.TB, emu *slackemu.Server, n int) *fanout {
	tb.Helper()
	ctx := context.Background()
	f := &fanout{emu: emu, dbURL: pgtest.FreshDatabase(tb)}
	st, err := storage.Open(ctx, f.dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	f.st = st

	f.users = make([]string, n)
	cached := make([]okr.SlackUser, n)
	for i := range f.users {
		f.users[i] = fmt.Sprintf("U0F%05d", i)
		emu.AddUser(slackemu.User{ID: f.users[i], Name: fmt.Sprintf("fan%05d", i), TZ: "UTC"})
		cached[i] = okr.SlackUser{ID: f.users[i], TZ: "UTC"}
	}
	for batch := range slices.Chunk(cached, 1000) {
		if err := st.UpsertSlackUsers(ctx, batch); err != nil {
			tb.Fatal(err)
		}
	}
	lead := f.users[0]
	team := &okr.Team{Name: "Fan-out", ChannelID: "C0FANOUT", CreatedBy: lead}
	if err := st.CreateTeam(ctx, team); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.AddMembers(ctx, team.ID, f.users[1:], okr.RoleMember, lead); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	quarter := okr.QuarterOf(now, 1)
	for i, owners := range slices.Collect(slices.Chunk(f.users, 100)) {
		o := &okr.Objective{
			TeamID: team.ID, Title: fmt.Sprintf("Fan-out objective %d", i+1), OwnerID: lead,
			Kind: okr.Committed, CreatedBy: lead,
		}
		for _, u := range owners {
			o.KeyResults = append(o.KeyResults, okr.KeyResult{
				Title: "Tickets closed by " + u, OwnerID: u, Kind: okr.Metric, Start: 0, Target: 10,
			})
		}
		if err := st.CreateObjective(ctx, o, quarter); err != nil {
			tb.Fatal(err)
		}
	}
	// The cycle the scheduler plans too, so its planning adds nothing.
	date, due := okr.DefaultSchedule(team.ID).CurrentCycle(now, time.UTC)
	cs := make([]okr.Checkin, n)
	for i, u := range f.users {
		cs[i] = okr.Checkin{TeamID: team.ID, UserID: u, CycleStart: date, DueAt: due}
	}
	if got, err := st.CreateCheckins(ctx, cs); err != nil || got != n {
		tb.Fatalf("create check-ins: got %d, %v, want %d", got, err, n)
	}
	return f
}

// isCheckinDM reports whether a message is a check-in DM (by its metadata).
func isCheckinDM(m slackemu.Message) bool {
	return bytes.Contains(m.Metadata, []byte(`"okrbot_checkin"`))
}

// allReached reports whether every person has at least one DM; cheap enough
// for WaitFor.
func (f *fanout) allReached() bool {
	for _, u := range f.users {
		if f.emu.CountPosts(u) == 0 {
			return false
		}
	}
	return true
}

// states counts the check-ins by state.
func (f *fanout) states(ctx context.Context) (map[string]int, error) {
	rows, err := f.st.DB().QueryContext(ctx, `SELECT state, count(*) FROM checkins GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// waitAllSent polls the database every 50 ms until every check-in is sent,
// and returns when it saw that.
func (f *fanout) waitAllSent(tb testing.TB, ctx context.Context) time.Time {
	tb.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := f.states(ctx)
		if err != nil {
			tb.Fatalf("check-in states: %v (last %v)", err, st)
		}
		if st[string(okr.Sent)] == len(f.users) {
			return time.Now()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			tb.Fatalf("check-ins not all sent: %v", st)
		}
	}
}

// mustHaveOneDMEach fails unless every person got exactly one check-in DM
// and the bot posted nothing else.
func (f *fanout) mustHaveOneDMEach(tb testing.TB) {
	tb.Helper()
	var lost, twice []string
	for _, u := range f.users {
		n := 0
		for _, m := range f.emu.DM(u) {
			if isCheckinDM(m) {
				n++
			}
		}
		switch {
		case n == 0:
			lost = append(lost, u)
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", u, n))
		}
	}
	if len(lost) > 0 || len(twice) > 0 {
		tb.Errorf("got %d people without a check-in DM %v and %d with several %v, want exactly one each",
			len(lost), firstFew(lost), len(twice), firstFew(twice))
	}
	if got := f.emu.CountPosts(""); got != len(f.users) {
		tb.Errorf("got %d posts in all, want %d", got, len(f.users))
	}
}

func firstFew(s []string) []string { return s[:min(len(s), 10)] }

// okrbotBinary builds okrbot once for the test into a temporary directory.
func okrbotBinary(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("the go tool is not on the PATH: cannot build okrbot to run it as a process")
	}
	bin := filepath.Join(tb.TempDir(), "okrbot")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is okrbot running as a process of its own.
type process struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
	once sync.Once
}

// startProcess runs the okrbot binary against the emulator and database,
// with a short claim lease (longer than a Slack call may wait, 10 s), and
// waits until its socket is connected.
func startProcess(tb testing.TB, bin string, f *fanout) *process {
	tb.Helper()
	return startProcessWith(tb, bin, f, 1)
}

// startProcessWith is startProcess with extra environment (which overrides
// the defaults above), waiting until the emulator has conns sockets open in
// all (this process's and those of the replicas already running).
func startProcessWith(tb testing.TB, bin string, f *fanout, conns int, env ...string) *process {
	tb.Helper()
	p := &process{cmd: exec.Command(bin, "run"), logs: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(),
		"SLACK_BOT_TOKEN="+f.emu.BotToken(), "SLACK_APP_TOKEN="+f.emu.AppToken(), "SLACK_API_URL="+f.emu.APIURL(),
		"DATABASE_URL="+f.dbURL, "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=info",
		"CHECKIN_CLAIM_LEASE=15s", "SOCKET_MODE_CONNECTIONS=1",
	)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	tb.Cleanup(func() { p.kill(tb) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.emu.WaitConnections(ctx, conns); err != nil {
		tb.Fatalf("okrbot did not connect: %v\n%s", err, p.logs)
	}
	return p
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would, and
// waits for it to be gone.
func (p *process) kill(tb testing.TB) {
	tb.Helper()
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	})
}

// vmHWM returns a process's peak resident set, in MiB, from /proc.
func vmHWM(pid string) (float64, error) {
	fh, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%s/status", pid)
}

// TestCheckinFanoutKillAndRestart kills okrbot (a real process, SIGKILL)
// in the middle of sending the week's check-ins under Slack-like rate
// limits, starts it again, and checks that everyone got exactly one DM: the
// check-ins the dead process had claimed are recovered once its lease ran
// out, and those whose DM it sent without recording are found in the DM
// history rather than sent twice.
func TestCheckinFanoutKillAndRestart(t *testing.T) {
	t.Parallel()
	bin := okrbotBinary(t)
	emu := slackemu.New(slackemu.Options{RateLimits: true, NoTranscript: true})
	t.Cleanup(emu.Close)
	f := mustFanout(t, emu, fanoutKillUsers)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()

	first := startProcess(t, bin, f)
	if err := emu.WaitFor(ctx, func() bool { return emu.CountPosts("") >= fanoutKillAfter }); err != nil {
		t.Fatalf("%d DMs out, want %d before the kill: %v\n%s", emu.CountPosts(""), fanoutKillAfter, err, first.logs)
	}
	first.kill(t)
	atKill := emu.CountPosts("")
	states, err := f.states(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d DMs out; check-ins %v", atKill, states)
	if atKill >= fanoutKillUsers {
		t.Logf("every DM was out before the kill: nothing left to recover")
	}

	// A check-in the dead process held is recovered once its claim
	// expires: start again then, as a replica restarted after a crash would
	// find it. The wait is the lease the database holds, not a guess.
	var until *time.Time
	if err := f.st.DB().GetContext(ctx, &until, `SELECT max(claimed_until) FROM checkins WHERE state = 'sending'`); err != nil {
		t.Fatal(err)
	}
	if until != nil {
		timer := time.NewTimer(time.Until(*until))
		select {
		case <-timer.C:
		case <-ctx.Done():
			t.Fatal("the dead process's lease did not run out")
		}
	}

	// The dead process also held the scheduler's lease, which a restarted
	// replica (a new instance ID) may take only when it expires: 90 s,
	// which no setting shortens. Expire it, as those 90 s would.
	if _, err := f.st.DB().ExecContext(ctx, `UPDATE scheduler_leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}

	second := startProcess(t, bin, f)
	if err := emu.WaitFor(ctx, f.allReached); err != nil {
		t.Fatalf("not everyone got a DM after the restart: %d posts: %v\n%s", emu.CountPosts(""), err, second.logs)
	}
	f.waitAllSent(t, ctx)
	f.mustHaveOneDMEach(t)
	if os.Getenv("FANOUT_DEBUG") != "" {
		t.Logf("second process:\n%s", second.logs)
	}
	if t.Failed() {
		t.Logf("first process:\n%s\nsecond process:\n%s", first.logs, second.logs)
	}
	t.Logf("after the restart: conversations.open %d, conversations.history %d calls; %d claims expired unsent; %d answered 429",
		emu.Calls("conversations.open"), emu.Calls("conversations.history"),
		strings.Count(second.logs.String(), "claim expired before the DM was sent"),
		emu.RateLimited("chat.postMessage")+emu.RateLimited("conversations.open")+emu.RateLimited("conversations.history"))
}

// BenchmarkCheckinFanout measures the weekly check-in fan-out, from the
// start of the check-in round to the last check-in recorded as sent in
// Postgres, for everyone owning a key result in one big team.
//
//	go test -run '^$' -bench CheckinFanout -benchtime 1x ./cmd/okrbot/
//
// unlimited: no rate limits in the emulator or the bot, 10,000 people; it
// reports DMs/s and the peak RSS of the test process, which holds the
// emulator, the bot and the benchmark's own store (the bot cannot run
// without its limiter as a process of its own).
//
// limited: the emulator's Slack-like limits and the bot's limiter on,
// FANOUT_LIMITED_USERS people (default 1,000; 10,000 takes about 17
// minutes); it reports the time taken, the least time chat.postMessage's
// workspace limit allows (burst, then its rate) and their ratio.
func BenchmarkCheckinFanout(b *testing.B) {
	b.Run("unlimited", func(b *testing.B) {
		benchmarkFanout(b, 10000, false)
	})
	b.Run("limited", func(b *testing.B) {
		n := 1000
		if s := os.Getenv("FANOUT_LIMITED_USERS"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				b.Fatalf("FANOUT_LIMITED_USERS=%q: want a whole number of people", s)
			}
			n = v
		}
		benchmarkFanout(b, n, true)
	})
}

// Chat.postMessage's workspace limit in the emulator (slackemu/ratelimit.go
// postPerWorkspace) and in the bot's limiter (bot/ratelimit.go: a tenth of
// a minute's worth as burst).
const (
	emuPostBurst  = 100
	botPostBurst  = 60
	postPerSecond = 600.0 / 60
)

func benchmarkFanout(b *testing.B, n int, limited bool) {
	var took time.Duration
	var hwmBefore, hwmAfter float64
	for b.Loop() {
		b.StopTimer()
		emu := slackemu.New(slackemu.Options{RateLimits: limited, NoTranscript: true})
		f := mustFanout(b, emu, n)
		hwmBefore, _ = vmHWM("self")
		starts := make(chan time.Time, 16)
		b.StartTimer()
		stop := runFanoutMain(b, f, !limited, func(job string, started time.Time) {
			if job == "checkins" {
				select {
				case starts <- started:
				default:
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		if err := emu.WaitFor(ctx, func() bool { return emu.CountPosts("") >= n }); err != nil {
			b.Fatalf("%d of %d DMs out: %v", emu.CountPosts(""), n, err)
		}
		if err := emu.WaitFor(ctx, f.allReached); err != nil {
			b.Fatalf("not everyone got a DM: %v", err)
		}
		end := f.waitAllSent(b, ctx)
		b.StopTimer()
		// The round tells its start when it ends, after reminders and
		// closing: wait for it, untimed.
		var start time.Time
		select {
		case start = <-starts:
		case <-ctx.Done():
			b.Fatal("the check-in round did not finish")
		}
		cancel()
		took = end.Sub(start)
		hwmAfter, _ = vmHWM("self")
		f.mustHaveOneDMEach(b)
		stop()
		emu.Close()
		b.StartTimer()
	}
	b.ReportMetric(took.Seconds(), "s-total")
	if !limited {
		b.ReportMetric(float64(n)/took.Seconds(), "DMs/s")
		b.ReportMetric(hwmAfter, "MiB-peak-RSS")
		b.ReportMetric(hwmBefore, "MiB-peak-RSS-before")
		return
	}
	bound := float64(max(0, n-emuPostBurst)) / postPerSecond
	b.ReportMetric(bound, "s-bound")
	b.ReportMetric(float64(max(0, n-botPostBurst))/postPerSecond, "s-bot-bound")
	if bound > 0 {
		b.ReportMetric(took.Seconds()/bound, "x-bound")
	}
}

// runFanoutMain runs okrbot in-process on the fan-out's emulator and
// database, and returns a function that stops it.
func runFanoutMain(tb testing.TB, f *fanout, noRateLimit bool, jobDone func(string, time.Time)) func() {
	tb.Helper()
	cfg := Config{
		SlackBotToken: f.emu.BotToken(), SlackAppToken: f.emu.AppToken(), SlackAPIURL: f.emu.APIURL(),
		DatabaseURL: f.dbURL, HTTPAddr: "127.0.0.1:0", LogLevel: "info",
		DefaultTimezone: "UTC", FiscalYearStartMonth: "1",
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		tb.Fatal(err)
	}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	m.NoRateLimit = noRateLimit
	m.JobDone = jobDone
	return runMain(tb, m, nil).stop
}
