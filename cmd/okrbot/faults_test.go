package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
	"github.com/okrbot/okrbot/storage"
)

// The fault tests run okrbot against the faults production brings: several
// replicas on one database, a replica dying mid-round, the database going
// away, Slack answering 429 and 5xx, sockets dropped, a slow Slack and one
// Socket Mode connection too many.
//
// Several replicas run in-process as a fleet: Mains on one emulator, one
// database and one fake clock, each with its own instance id, logs and
// JobDone hook. The scheduler lease lives in the database's time (now()),
// not in the fake clock's: a replica that stops cleanly gives it up at once,
// and a lease left by a dead one is made to run out by moving its expiry,
// as the storage tests do.

// fleetLeaseTTL is the replicas' Main.LeaseTTL: far longer than a test, so
// the lease changes hands only when a test makes it.
const fleetLeaseTTL = time.Minute

// fleetDue is when the check-ins of withDuePeople are due: Monday 10:00 UTC.
var fleetDue = jan(4, 10, 0)

// fleet is okrbot run as several replicas.
type fleet struct {
	emu   *slackemu.Server
	clock *clockwork.FakeClock
	dbURL string
	// rounds tells when a check-in round finished, on any replica.
	rounds *rounds
	live   []*replica
}

// replica is one okrbot of a fleet.
type replica struct {
	name string
	main *Main
	logs *lockedBuffer
	// checkins and syncs tell when this replica's check-in rounds and
	// users syncs finished.
	checkins, syncs *rounds
	mu              sync.Mutex
	ran             []jobRun
	stop            func()
}

// jobRun is a scheduled run a replica finished.
type jobRun struct {
	job     string
	started time.Time
}

// newFleet returns a fleet with no replica yet: an emulator with the demo
// workspace and opts, a fresh database and a fake clock at start.
func newFleet(tb testing.TB, opts slackemu.Options, start time.Time) *fleet {
	tb.Helper()
	clock := clockwork.NewFakeClockAt(start)
	opts.Now = clock.Now
	emu := slackemu.New(opts)
	tb.Cleanup(emu.Close)
	demoWorkspace(emu)
	return &fleet{emu: emu, clock: clock, dbURL: pgtest.FreshDatabase(tb), rounds: newRounds()}
}

// start runs a new replica, tune changing its configuration, and waits
// until it is ready and every live scheduler waits on its timers: each job
// it ran at start-up has either been skipped (another replica holds the
// lease) or started. The first replica of a fleet holds the lease, so start
// waits for its start-up check-in round and users sync too.
func (f *fleet) start(tb testing.TB, name string, tune func(*Config, *Main)) *replica {
	tb.Helper()
	cfg := Config{
		SlackBotToken: f.emu.BotToken(), SlackAppToken: f.emu.AppToken(), SlackAPIURL: f.emu.APIURL(),
		DatabaseURL: f.dbURL, HTTPAddr: "127.0.0.1:0",
		LogLevel: "debug", DefaultTimezone: "UTC", FiscalYearStartMonth: "1",
	}
	r := &replica{name: name, logs: &lockedBuffer{}, checkins: newRounds(), syncs: newRoundsOf("sync-users")}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m.Clock, m.LeaseTTL = f.clock, fleetLeaseTTL
	m.JobDone = func(job string, started time.Time) {
		r.mu.Lock()
		r.ran = append(r.ran, jobRun{job, started})
		r.mu.Unlock()
		f.rounds.JobDone(job, started)
		r.checkins.JobDone(job, started)
		if job == "sync-users" {
			r.syncs.JobDone(job, started)
		}
	}
	if tune != nil {
		tune(&cfg, m)
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		tb.Fatalf("config: %v", err)
	}
	m.Config = cfg
	r.main = m
	first := len(f.live) == 0

	run := runMain(tb, m, func() {
		for i, x := range f.live {
			if x == r {
				f.live = append(f.live[:i], f.live[i+1:]...)
				break
			}
		}
	})
	r.stop = run.stop
	run.waitReady(tb)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	f.live = append(f.live, r)
	if err := f.clock.BlockUntilContext(wctx, schedulerTimers*len(f.live)); err != nil {
		tb.Log(r.logs.String())
		tb.Fatalf("%s: the schedulers are not waiting: %v", name, err)
	}
	if first {
		if err := r.checkins.waitRound(wctx, f.clock.Now()); err != nil {
			tb.Fatalf("%s: the check-in round at start-up: %v", name, err)
		}
		if err := r.syncs.waitRound(wctx, f.clock.Now()); err != nil {
			tb.Fatalf("%s: the users sync at start-up: %v", name, err)
		}
	}
	return r
}

// waitConnections waits until the emulator holds n Socket Mode connections.
func (f *fleet) waitConnections(tb testing.TB, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.emu.WaitConnections(ctx, n); err != nil {
		tb.Fatalf("got %d Socket Mode connections, want %d", f.emu.Connections(), n)
	}
}

// tick moves the clock to half a minute past t (see clockHarness.advance)
// once every live scheduler waits on its timers.
func (f *fleet) tick(tb testing.TB, t time.Time) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.clock.BlockUntilContext(ctx, schedulerTimers*len(f.live)); err != nil {
		tb.Fatalf("the schedulers are not waiting: %v", err)
	}
	f.clock.Advance(t.Add(30 * time.Second).Sub(f.clock.Now()))
}

// advance ticks to t and waits for the check-in round that runs then, on
// whichever replica holds the lease.
func (f *fleet) advance(tb testing.TB, t time.Time) {
	tb.Helper()
	f.tick(tb, t)
	// A round that recovers DMs looks each up in its DM history, one at a
	// time at Slack's 50 look-ups a minute: allow for a few dozen.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.rounds.waitRound(ctx, t); err != nil {
		for _, r := range f.live {
			for _, l := range strings.Split(r.logs.String(), "\n") {
				if strings.Contains(l, `"job"`) || strings.Contains(l, `"level":"ERROR"`) {
					tb.Logf("%s: %s", r.name, l)
				}
			}
		}
		tb.Fatalf("advancing to %s: %v", t.Format(time.RFC3339), err)
	}
}

// ranRound reports whether the replica ran the check-in round of t.
func (r *replica) ranRound(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.ran {
		if j.job == "checkins" && j.started.Equal(t.Add(30*time.Second)) {
			return true
		}
	}
	return false
}

// wantOneRan fails unless exactly one of the replicas ran the check-in
// round of t, and returns it.
func wantOneRan(tb testing.TB, t time.Time, rs ...*replica) *replica {
	tb.Helper()
	var ran []*replica
	var names []string
	for _, r := range rs {
		if r.ranRound(t) {
			ran = append(ran, r)
			names = append(names, r.name)
		}
	}
	if len(ran) != 1 {
		tb.Fatalf("the round of %s ran on %v, want exactly one replica", t.Format(time.RFC3339), names)
	}
	return ran[0]
}

// withDuePeople adds n people in UTC to the workspace and, straight into
// the database, the Platform team with alice's objective of the quarter and
// one key result owned by each of them, so their check-ins are all due at
// fleetDue. Call it before any replica starts.
func (f *fleet) withDuePeople(tb testing.TB, n int) []string {
	tb.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, f.dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	st.Now = f.clock.Now
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	people := make([]string, n)
	cached := make([]okr.SlackUser, n)
	for i := range people {
		people[i] = fmt.Sprintf("U0F%03d", i)
		f.emu.AddUser(slackemu.User{ID: people[i], Name: fmt.Sprintf("fault%03d", i), RealName: fmt.Sprintf("Person %d", i), TZ: "UTC"})
		cached[i] = okr.SlackUser{ID: people[i], TZ: "UTC"}
	}
	// Cached as the users sync would: the check-in round at start-up may
	// run before it, and would look them up one by one.
	if err := st.UpsertSlackUsers(ctx, cached); err != nil {
		tb.Fatal(err)
	}
	team := &okr.Team{Name: "Platform", ChannelID: demoChannel, CreatedBy: alice}
	if err := st.CreateTeam(ctx, team); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.AddMembers(ctx, team.ID, people, okr.RoleMember, alice); err != nil {
		tb.Fatal(err)
	}
	o := &okr.Objective{TeamID: team.ID, Title: "Make support fast", OwnerID: alice, Kind: okr.Aspirational, CreatedBy: alice}
	if err := st.CreateObjective(ctx, o, okr.QuarterOf(f.clock.Now(), 1)); err != nil {
		tb.Fatal(err)
	}
	for i, u := range people {
		kr := &okr.KeyResult{ObjectiveID: o.ID, Title: fmt.Sprintf("Close tickets %d", i), OwnerID: u, Kind: okr.Metric, Start: 0, Target: 10}
		if err := st.CreateKeyResult(ctx, kr); err != nil {
			tb.Fatal(err)
		}
	}
	return people
}

// checkinDMCount returns how many check-in DMs a person got.
func checkinDMCount(emu *slackemu.Server, user string) int {
	n := 0
	for _, m := range emu.DM(user) {
		if bytes.Contains(m.Metadata, []byte(`"okrbot_checkin"`)) {
			n++
		}
	}
	return n
}

// checkinDMs returns how many check-in DMs everyone got in all.
func checkinDMs(emu *slackemu.Server, people []string) int {
	n := 0
	for _, u := range people {
		n += checkinDMCount(emu, u)
	}
	return n
}

// wantOneDMEach fails unless every person got exactly one check-in DM and
// has one check-in, sent.
func (f *fleet) wantOneDMEach(tb testing.TB, db *sql.DB, people []string) {
	tb.Helper()
	for _, u := range people {
		if got := checkinDMCount(f.emu, u); got != 1 {
			tb.Errorf("%s got %d check-in DMs, want 1", u, got)
		}
	}
	var states []string
	if err := queryStrings(db, &states, `SELECT state FROM checkins ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	sent := 0
	for _, s := range states {
		if s == "sent" {
			sent++
		}
	}
	if len(states) != len(people) || sent != len(people) {
		tb.Errorf("got %d check-ins, %d of them sent, want %d sent", len(states), sent, len(people))
	}
}

func queryStrings(db *sql.DB, out *[]string, query string, args ...any) error {
	rows, err := db.Query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*out = append(*out, s)
	}
	return rows.Err()
}

// eventually waits until cond holds, checking every few milliseconds, for
// what no event announces (rows in the database); it fails after 10 s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("%s: not within 10 s", what)
		}
	}
}

func TestReplicasSendEachCheckinOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t, slackemu.Options{}, sunday)
	people := f.withDuePeople(t, 50)
	a := f.start(t, "a", nil)
	b := f.start(t, "b", nil)
	f.waitConnections(t, 2*2)
	posts := f.emu.Calls("chat.postMessage")

	f.advance(t, fleetDue)
	leader := wantOneRan(t, fleetDue, a, b)
	f.wantOneDMEach(t, leader.main.Store.DB().DB, people)
	if got := f.emu.Calls("chat.postMessage") - posts; got != len(people) {
		t.Errorf("got %d chat.postMessage calls, want %d", got, len(people))
	}
	for _, r := range []*replica{a, b} {
		if got := strings.Count(r.logs.String(), `"check-ins planned"`); (r == leader) != (got == 1) {
			t.Errorf("%s logged %d plannings (leader %v), want one on the leader only", r.name, got, r == leader)
		}
	}

	// The next minutes change nothing, whoever runs them.
	for _, at := range []time.Time{fleetDue.Add(time.Minute), fleetDue.Add(2 * time.Minute)} {
		f.advance(t, at)
		wantOneRan(t, at, a, b)
	}
	f.wantOneDMEach(t, a.main.Store.DB().DB, people)
}

func TestReplicaKilledMidRound(t *testing.T) {
	t.Parallel()
	// Slack is slow (every DM takes 200 ms) and its limits are on. Once a
	// few DMs are out, one is answered 429 (Retry-After: 1): the leader's
	// bot then holds every chat.postMessage back for a second, which is
	// when the leader is killed. A DM is either out and recorded by then,
	// or its request never reached Slack, so a duplicate could only come
	// from the takeover.
	f := newFleet(t, slackemu.Options{RateLimits: true}, sunday)
	people := f.withDuePeople(t, 50)
	short := func(cfg *Config, _ *Main) { cfg.CheckinClaimLease = "5s" }
	a := f.start(t, "a", short)
	b := f.start(t, "b", short)
	f.waitConnections(t, 2*2)
	db := openDB(t, f.dbURL)
	posts := f.emu.Calls("chat.postMessage")
	f.emu.SetLatency("chat.postMessage", 200*time.Millisecond)

	f.tick(t, fleetDue)
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const some = 5
	if err := f.emu.WaitFor(wctx, func() bool { return checkinDMs(f.emu, people) >= some }); err != nil {
		t.Fatal("the round sent no DM")
	}
	f.emu.InjectErrors("chat.postMessage", http.StatusTooManyRequests, 1)
	if err := f.emu.WaitFor(wctx, func() bool { return f.emu.RateLimited("chat.postMessage") >= 1 }); err != nil {
		t.Fatal("the round's DMs were not rate limited")
	}
	// Every request that reached Slack was answered and what it posted is
	// recorded: the rest wait in the paused bot.
	eventually(t, "the DMs out are recorded", func() bool {
		out := checkinDMs(f.emu, people)
		var sent int
		if err := db.QueryRow(`SELECT count(*) FROM checkins WHERE state = 'sent'`).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		return f.emu.Calls("chat.postMessage")-posts == out+1 && sent == out
	})
	var holder string
	if err := db.QueryRow(`SELECT holder FROM scheduler_leases WHERE name = 'scheduler'`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	leader, other := a, b
	if strings.Contains(b.logs.String(), `"check-ins planned"`) {
		leader, other = b, a
	}
	sentByLeader := checkinDMs(f.emu, people)
	if sentByLeader < some || sentByLeader == len(people) {
		t.Fatalf("%s sent %d of %d DMs before it was stopped, want some but not all", leader.name, sentByLeader, len(people))
	}
	t.Logf("%s sent %d of %d DMs before it was stopped", leader.name, sentByLeader, len(people))
	leader.stop()
	if other.ranRound(fleetDue) {
		t.Fatalf("%s ran the round of %s too", other.name, fleetDue.Format(time.RFC3339))
	}

	// A clean stop gives the lease up; a killed replica's lease stays until
	// it runs out. Put it back as a kill leaves it: the other replica does
	// not lead while it holds.
	if _, err := db.Exec(`
		INSERT INTO scheduler_leases (name, holder, expires_at)
		VALUES ('scheduler', $1, now() + make_interval(secs => $2))
		ON CONFLICT (name) DO UPDATE
		SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at`, holder, fleetLeaseTTL.Seconds()); err != nil {
		t.Fatal(err)
	}
	next := fleetDue.Add(time.Minute)
	f.tick(t, next)
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := f.clock.BlockUntilContext(bctx, schedulerTimers); err != nil {
		t.Fatal(err)
	}
	if other.ranRound(next) || checkinDMs(f.emu, people) != sentByLeader {
		t.Fatalf("%s ran a round while the dead replica's lease held", other.name)
	}

	// The lease runs out: the other replica takes over and finishes. The
	// DMs the dead replica had on their way got no answer, so they may be
	// out: their claims must expire (CHECKIN_CLAIM_LEASE, 2 minutes) before
	// they are recovered, with a look at the DM history first.
	if _, err := db.Exec(`UPDATE scheduler_leases SET expires_at = now() - interval '1 second' WHERE name = 'scheduler'`); err != nil {
		t.Fatal(err)
	}
	last := fleetDue.Add(3 * time.Minute)
	f.advance(t, last)
	wantOneRan(t, last, other)
	// Each recovery looks in the DM history, one at a time at Slack's 50
	// look-ups a minute; one more round finds nothing left to do.
	last = last.Add(3 * time.Minute)
	f.advance(t, last)
	f.wantOneDMEach(t, db, people)
	if got := f.emu.Calls("chat.postMessage") - posts; got != len(people)+1 {
		t.Errorf("got %d chat.postMessage calls, want %d (a DM each and the one refused)", got, len(people)+1)
	}
}

func TestCheckinsThrough429And5xx(t *testing.T) {
	t.Parallel()
	f := newFleet(t, slackemu.Options{RateLimits: true}, sunday)
	people := f.withDuePeople(t, 50)
	r := f.start(t, "a", nil)
	f.waitConnections(t, 2)
	posts := f.emu.Calls("chat.postMessage")

	// The round's first five DMs fail with 500, the next three with 429.
	f.emu.InjectErrors("chat.postMessage", http.StatusInternalServerError, 5)
	f.emu.InjectErrors("chat.postMessage", http.StatusTooManyRequests, 3)
	start := time.Now()
	f.advance(t, fleetDue)
	took := time.Since(start)

	f.wantOneDMEach(t, r.main.Store.DB().DB, people)
	if got := f.emu.Calls("chat.postMessage") - posts; got != len(people)+8 {
		t.Errorf("got %d chat.postMessage calls, want %d (a DM each and the eight refused)", got, len(people)+8)
	}
	// Slack limited no call beyond the three injected: the bot waited as
	// told rather than pressing on.
	if got := f.emu.RateLimited("chat.postMessage"); got != 3 {
		t.Errorf("got %d rate-limited chat.postMessage calls, want the 3 injected", got)
	}
	if took < time.Second {
		t.Errorf("the round took %s, want at least the 1 s of Retry-After", took)
	}
	if got := strings.Count(r.logs.String(), "check-in not sent; will retry"); got != 5 {
		t.Errorf("got %d check-ins put back after a 500, want 5", got)
	}
}

// adminDB connects to the server's postgres database as the test role (a
// superuser), for what okrbot's own database cannot do to itself.
func adminDB(tb testing.TB, dbURL string) *sql.DB {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/postgres"
	return openDB(tb, u.String())
}

// openDB returns a connection pool of the test's own, closed when it ends.
func openDB(tb testing.TB, dbURL string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	ctx := context.Background()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + h.main.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	view := h.newObjectiveModal(t, alice, 3)

	u, err := url.Parse(h.main.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := adminDB(t, h.main.Config.DatabaseURL)
	allow := func(ok bool) {
		t.Helper()
		if _, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t`, pq.QuoteIdentifier(name), ok)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { allow(true) })

	// The database refuses connections and drops the ones it had.
	conns, dials := h.emu.Connections(), h.emu.Dials()
	allow(false)
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
	eventually(t, "okrbot's database connections end", func() bool {
		var n int
		if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})

	t.Run("not ready, still connected", func(t *testing.T) {
		code, body := get("/readyz")
		if code != http.StatusServiceUnavailable {
			t.Errorf("/readyz: got %d %q, want 503", code, body)
		}
		mustContain(t, body, "database unreachable")
		if strings.Contains(body, "Slack") {
			t.Errorf("/readyz: got %q, want the socket reported fine", body)
		}
		if code, _ := get("/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: got %d, want 200 (the process is alive)", code)
		}
		if got := h.emu.Connections(); got != conns || h.emu.Dials() != dials {
			t.Errorf("got %d connections after %d dials, want the %d of %d before", got, h.emu.Dials(), conns, dials)
		}
	})
	t.Run("a submission is refused inline", func(t *testing.T) {
		ack, err := h.emu.SubmitView(ctx, alice, view.ID, goodObjective().form())
		if err != nil {
			t.Fatal(err)
		}
		a := decodeViewAck(t, ack)
		if a.ResponseAction != "errors" || len(a.Errors) != 1 {
			t.Fatalf("got ack %s, want one inline error", ack.Payload)
		}
		for _, msg := range a.Errors {
			mustContain(t, msg, "nothing was changed", "try again")
		}
		if v, ok := h.emu.ViewByID(view.ID); !ok || v.Closed {
			t.Error("the modal closed: what was typed is lost")
		}
	})
	t.Run("a command gets a friendly error", func(t *testing.T) {
		got := h.slash(t, alice, "list")
		mustContain(t, got, "something went wrong on our side and nothing was changed")
		for _, leak := range []string{"pq:", "sql:", "storage:", name} {
			if strings.Contains(got, leak) {
				t.Errorf("the reply %q shows %q", got, leak)
			}
		}
	})

	// The database is back: readiness follows by itself, and trying again
	// works.
	allow(true)
	eventually(t, "/readyz ready again", func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	var objectives int
	if err := h.main.Store.DB().GetContext(ctx, &objectives, `SELECT count(*) FROM objectives`); err != nil {
		t.Fatal(err)
	}
	if objectives != 0 {
		t.Fatalf("got %d objectives after the refused submission, want none", objectives)
	}
	before := h.p.seen(alice, demoChannel)
	if errs := h.submitErrors(t, alice, view, goodObjective()); errs != nil {
		t.Fatalf("the retry was refused: %v", errs)
	}
	if _, err := h.p.nextMessage(ctx, alice, demoChannel, before); err != nil {
		t.Fatal(err)
	}
	var krs int
	if err := h.main.Store.DB().GetContext(ctx, &krs, `SELECT count(*) FROM key_results`); err != nil {
		t.Fatal(err)
	}
	if krs != 3 {
		t.Errorf("got %d key results after the retry, want 3", krs)
	}
	if got := h.emu.Connections(); got != conns || h.emu.Dials() != dials {
		t.Errorf("got %d connections after %d dials, want the %d of %d before", got, h.emu.Dials(), conns, dials)
	}
}

func TestSocketDroppedRepeatedly(t *testing.T) {
	t.Parallel()
	h := mustStart(t, slackemu.Options{})
	conns := h.emu.Connections()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 10 {
		dials := h.emu.Dials()
		h.emu.DropConnections()
		if err := h.emu.WaitFor(ctx, func() bool { return h.emu.Dials() >= dials+conns && h.emu.Connections() == conns }); err != nil {
			t.Fatalf("drop %d: the bot did not reconnect: %d dials → %d, %d connections", i+1, dials, h.emu.Dials(), h.emu.Connections())
		}
		mustContain(t, h.slash(t, alice, "help"), "/okr team create NAME")
	}
	if got := h.emu.Dials(); got < 11*conns {
		t.Errorf("got %d dials, want at least %d", got, 11*conns)
	}
}

func TestSlowSlackAcksPromptly(t *testing.T) {
	t.Parallel()
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	ctx := context.Background()
	for _, m := range []string{"chat.postMessage", "views.open", "users.info"} {
		h.emu.SetLatency(m, 2*time.Second)
	}
	// Slack gives up on an envelope not acked within 3 s. An ack under a
	// second, with every Slack call the work needs taking 2 s, shows the
	// acks wait for none of them: a correctness property, not a
	// performance target.
	const limit = time.Second
	for _, text := range []string{"help", "list", "new"} {
		before := h.p.seen(alice, demoChannel)
		ack, err := h.emu.SlashCommand(ctx, alice, demoChannel, "/okr", text)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Latency >= limit {
			t.Errorf("/okr %s: acked after %s, want under %s", text, ack.Latency, limit)
		}
		if text == "new" {
			break
		}
		if _, err := h.p.nextMessage(ctx, alice, demoChannel, before); err != nil {
			t.Fatal(err)
		}
	}
	var view slackemu.View
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(wctx, func() bool {
		vs := h.emu.OpenViews(alice)
		if len(vs) > 0 {
			view = vs[len(vs)-1]
		}
		return len(vs) > 0
	}); err != nil {
		t.Fatal("/okr new opened no modal")
	}
	// The modal has room for one key result (more take a click each).
	good := goodObjective()
	for k := range good {
		if strings.HasPrefix(k, "kr2_") || strings.HasPrefix(k, "kr3_") {
			delete(good, k)
		}
	}
	bad := good.with(values{"kr1_target": "12"}) // equal to the start
	for _, s := range []struct {
		name   string
		v      values
		action string
	}{
		{"refused", bad, "errors"},
		{"saved", good, "clear"},
	} {
		ack, err := h.emu.SubmitView(ctx, alice, view.ID, s.v.form())
		if err != nil {
			t.Fatal(err)
		}
		if ack.Latency >= limit {
			t.Errorf("view submission %s: acked after %s, want under %s", s.name, ack.Latency, limit)
		}
		if got := decodeViewAck(t, ack).ResponseAction; got != s.action {
			t.Errorf("view submission %s: got response_action %q, want %q", s.name, got, s.action)
		}
	}
	var n int
	if err := h.main.Store.DB().GetContext(ctx, &n, `SELECT count(*) FROM objectives`); err != nil || n != 1 {
		t.Errorf("got %d objectives (%v), want the one saved", n, err)
	}
}

func TestConnectionBeyondSlacksLimit(t *testing.T) {
	t.Parallel()
	// Slack allows an app 10 Socket Mode connections; the emulator allows
	// four here, which two replicas of two connections take. Slack's
	// limits are on: apps.connections.open allows ten calls at once, then
	// one a minute, which bounds how often a refused replica tries again.
	f := newFleet(t, slackemu.Options{MaxConnections: 4, RateLimits: true}, sunday)
	people := f.withDuePeople(t, 3)
	a := f.start(t, "a", nil)
	b := f.start(t, "b", nil)
	f.waitConnections(t, 4)

	// The third replica's sockets are refused. It takes the lease, as
	// though the others' had run out, to show its scheduled work goes on.
	if _, err := a.main.Store.DB().Exec(`UPDATE scheduler_leases SET expires_at = now() - interval '1 second' WHERE name = 'scheduler'`); err != nil {
		t.Fatal(err)
	}
	c := f.start(t, "c", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Refused until Slack's limit on apps.connections.open stops it.
	if err := f.emu.WaitFor(ctx, func() bool { return f.emu.RateLimited("apps.connections.open") > 0 }); err != nil {
		t.Fatalf("the third replica is not refused until rate limited: %d apps.connections.open calls", f.emu.Calls("apps.connections.open"))
	}
	if err := c.checkins.waitRound(ctx, f.clock.Now()); err != nil {
		t.Fatalf("the refused replica ran no check-in round at start: %v", err)
	}
	if err := c.syncs.waitRound(ctx, f.clock.Now()); err != nil {
		t.Fatalf("the refused replica ran no users sync at start: %v", err)
	}
	if got := f.emu.Connections(); got != 4 {
		t.Errorf("got %d connections, want the 4 of the first replicas", got)
	}
	for _, r := range []*replica{a, b} {
		if strings.Contains(r.logs.String(), "too_many_websockets") {
			t.Errorf("%s was refused a connection", r.name)
		}
	}

	t.Run("the refusal is logged", func(t *testing.T) {
		// slack-go (v0.35) turns Slack's disconnect message into a
		// reconnect without handing it on; the bot tells a refusal by a
		// socket closed before its hello.
		mustContain(t, c.logs.String(), "too_many_websockets", "the app already has its 10 Socket Mode connections")
		if strings.Contains(c.logs.String(), "connected to Slack") {
			t.Error("the refused replica says it connected")
		}
	})

	f.advance(t, fleetDue)
	wantOneRan(t, fleetDue, a, b, c)
	if !c.ranRound(fleetDue) {
		t.Errorf("the round of %s did not run on the refused replica", fleetDue.Format(time.RFC3339))
	}
	f.wantOneDMEach(t, c.main.Store.DB().DB, people)
}
