package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/scheduler"
	"github.com/okrbot/okrbot/storage"
)

const (
	tokyo   = "Asia/Tokyo"
	berlin  = "Europe/Berlin"
	newYork = "America/New_York"
)

// utc returns an instant written in UTC.
func utc(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, time.UTC)
}

// saturday is when the tests' people get their key results: the Saturday
// before Monday 2027-03-22, whose 10:00 is 01:00 UTC in Tokyo, 09:00 UTC in
// Berlin (still on CET) and 14:00 UTC in New York (on EDT since 03-14).
// Berlin moves to CEST on Sunday 2027-03-28.
var saturday = utc(2027, 3, 20, 12, 0, 0)

// world is a store, a fake clock that drives both the store and the
// schedulers, a fake Slack and a team with the default schedule (Monday
// 10:00 local, a reminder after 24 h).
type world struct {
	st    *storage.Store
	clock *clockwork.FakeClock
	msg   *fakeMessenger
	team  *okr.Team
}

func newWorld(tb testing.TB, at time.Time) *world {
	tb.Helper()
	w := &world{st: mustOpenStore(tb), clock: clockwork.NewFakeClockAt(at), msg: &fakeMessenger{}}
	w.st.Now = w.clock.Now
	w.team = w.mustCreateTeam(tb)
	return w
}

func (w *world) mustCreateTeam(tb testing.TB) *okr.Team {
	tb.Helper()
	var n int
	if err := w.st.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM teams`); err != nil {
		tb.Fatal(err)
	}
	t := &okr.Team{Name: fmt.Sprintf("Team %d", n+1), ChannelID: fmt.Sprintf("C%d", n+1), CreatedBy: "ULEAD"}
	if err := w.st.CreateTeam(context.Background(), t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// scheduler returns a scheduler of the world named id, not started.
func (w *world) scheduler(tb testing.TB, id string) *scheduler.Scheduler {
	tb.Helper()
	return w.schedulerWith(tb, scheduler.Config{InstanceID: id})
}

func (w *world) schedulerWith(tb testing.TB, cfg scheduler.Config) *scheduler.Scheduler {
	tb.Helper()
	cfg.Clock = w.clock
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := scheduler.New(cfg, w.st, w.msg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Shutdown() })
	return s
}

// mustOwn gives each person a key result of an active objective of the
// team in 2027, created now by the fake clock, five to an objective.
func (w *world) mustOwn(tb testing.TB, teamID int64, users ...string) {
	tb.Helper()
	year, err := okr.ParsePeriod("2027", time.January, time.UTC)
	if err != nil {
		tb.Fatal(err)
	}
	for chunk := range slices.Chunk(users, okr.MaxKeyResults) {
		o := &okr.Objective{TeamID: teamID, Title: "Delight customers", OwnerID: "ULEAD", Kind: okr.Committed, CreatedBy: "ULEAD"}
		for _, u := range chunk {
			o.KeyResults = append(o.KeyResults, okr.KeyResult{
				Title: "Answer within a day", OwnerID: u, Kind: okr.Metric, Unit: "h", Start: 48, Target: 24, Current: 48,
			})
		}
		if err := w.st.CreateObjective(context.Background(), o, year); err != nil {
			tb.Fatal(err)
		}
	}
}

// mustLive puts people in the fake workspace in time zone tz and, when
// cached, in the store's cache of Slack users too.
func (w *world) mustLive(tb testing.TB, tz string, cached bool, users ...string) {
	tb.Helper()
	us := make([]okr.SlackUser, len(users))
	for i, u := range users {
		us[i] = okr.SlackUser{ID: u, TZ: tz}
	}
	w.msg.addUsers(us...)
	if !cached {
		return
	}
	if err := w.st.UpsertSlackUsers(context.Background(), us); err != nil {
		tb.Fatal(err)
	}
}

// advanceTo moves the fake clock forward to t.
func (w *world) advanceTo(tb testing.TB, t time.Time) {
	tb.Helper()
	d := t.Sub(w.clock.Now())
	if d < 0 {
		tb.Fatalf("advance to %v: the clock is at %v already", t, w.clock.Now())
	}
	w.clock.Advance(d)
}

// checkinRow is a check-in as read back from the database.
type checkinRow struct {
	ID            int64     `db:"id"`
	TeamID        int64     `db:"team_id"`
	UserID        string    `db:"user_id"`
	CycleStart    string    `db:"cycle_start"`
	DueAt         time.Time `db:"due_at"`
	State         string    `db:"state"`
	Reason        string    `db:"reason"`
	DMTS          string    `db:"dm_ts"`
	ClaimedBy     string    `db:"claimed_by"`
	Attempts      int       `db:"attempts"`
	RemindersSent int       `db:"reminders_sent"`
	ReminderTS    string    `db:"reminder_ts"`
}

// String names the check-in's person, cycle and due time in UTC.
func (r checkinRow) String() string {
	return fmt.Sprintf("%s %s due %s", r.UserID, r.CycleStart, r.DueAt.UTC().Format(time.RFC3339))
}

// mustCheckins returns every check-in in the database, the earliest due
// first.
func (w *world) mustCheckins(tb testing.TB) []checkinRow {
	tb.Helper()
	rows := []checkinRow{}
	err := w.st.DB().SelectContext(context.Background(), &rows, `
		SELECT id, team_id, user_id, CAST(cycle_start AS text) AS cycle_start, due_at,
			state, reason, dm_ts, claimed_by, attempts, reminders_sent, reminder_ts
		FROM checkins
		ORDER BY due_at, team_id, user_id`)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// mustCheckinOf returns the one check-in of a person.
func (w *world) mustCheckinOf(tb testing.TB, userID string) checkinRow {
	tb.Helper()
	var found []checkinRow
	for _, r := range w.mustCheckins(tb) {
		if r.UserID == userID {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("check-ins of %s: got %v, want one", userID, found)
	}
	return found[0]
}

func planned(rows []checkinRow) []string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = r.String()
	}
	return s
}

// roundTimeout bounds a job run by a test: a round that spins instead of
// ending fails rather than hangs.
const roundTimeout = 30 * time.Second

// mustRun runs a job once, failing tb on an error or when it spins.
func mustRun(tb testing.TB, name string, job func(context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	if err := job(ctx); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

func TestPlanCheckins(t *testing.T) {
	t.Run("each at 10:00 local, across DST", func(t *testing.T) {
		w := newWorld(t, saturday)
		w.mustLive(t, tokyo, true, "UTOKYO")
		w.mustLive(t, berlin, true, "UBERLIN")
		w.mustLive(t, newYork, true, "UNEWYORK")
		w.mustOwn(t, w.team.ID, "UTOKYO", "UBERLIN", "UNEWYORK")
		s := w.scheduler(t, "a")

		var want []string
		for _, step := range []struct {
			at  time.Time
			add []string // newly planned
		}{
			// The cycles of 03-15 were due before they owned anything.
			{utc(2027, 3, 22, 0, 59, 59), nil},
			{utc(2027, 3, 22, 1, 0, 0), []string{"UTOKYO 2027-03-22 due 2027-03-22T01:00:00Z"}},
			{utc(2027, 3, 22, 8, 59, 59), nil},
			{utc(2027, 3, 22, 9, 0, 0), []string{"UBERLIN 2027-03-22 due 2027-03-22T09:00:00Z"}},
			{utc(2027, 3, 22, 13, 59, 59), nil},
			{utc(2027, 3, 22, 14, 0, 0), []string{"UNEWYORK 2027-03-22 due 2027-03-22T14:00:00Z"}},
			{utc(2027, 3, 29, 0, 59, 59), nil},
			{utc(2027, 3, 29, 1, 0, 0), []string{"UTOKYO 2027-03-29 due 2027-03-29T01:00:00Z"}},
			// Berlin is on summer time now: 10:00 is 08:00 UTC.
			{utc(2027, 3, 29, 7, 59, 59), nil},
			{utc(2027, 3, 29, 8, 0, 0), []string{"UBERLIN 2027-03-29 due 2027-03-29T08:00:00Z"}},
			{utc(2027, 3, 29, 13, 59, 59), nil},
			{utc(2027, 3, 29, 14, 0, 0), []string{"UNEWYORK 2027-03-29 due 2027-03-29T14:00:00Z"}},
		} {
			w.advanceTo(t, step.at)
			mustRun(t, "plan", s.PlanCheckins)
			want = append(want, step.add...)
			if got := planned(w.mustCheckins(t)); !slices.Equal(got, want) {
				t.Errorf("at %s: got %q, want %q", step.at.Format(time.RFC3339), got, want)
			}
		}
	})

	t.Run("not a cycle due before they owned anything", func(t *testing.T) {
		w := newWorld(t, saturday)
		w.mustLive(t, berlin, true, "UEARLY", "ULATE")
		w.mustOwn(t, w.team.ID, "UEARLY")
		s := w.scheduler(t, "a")

		w.advanceTo(t, utc(2027, 3, 22, 9, 30, 0)) // half an hour after Berlin's 10:00
		w.mustOwn(t, w.team.ID, "ULATE")
		mustRun(t, "plan", s.PlanCheckins)
		want := []string{"UEARLY 2027-03-22 due 2027-03-22T09:00:00Z"}
		if got := planned(w.mustCheckins(t)); !slices.Equal(got, want) {
			t.Errorf("after a late key result: got %q, want %q", got, want)
		}

		w.advanceTo(t, utc(2027, 3, 29, 8, 0, 0))
		mustRun(t, "plan", s.PlanCheckins)
		want = append(want,
			"UEARLY 2027-03-29 due 2027-03-29T08:00:00Z",
			"ULATE 2027-03-29 due 2027-03-29T08:00:00Z")
		if got := planned(w.mustCheckins(t)); !slices.Equal(got, want) {
			t.Errorf("the next week: got %q, want %q", got, want)
		}
	})

	t.Run("a cycle missed while down, if still open", func(t *testing.T) {
		w := newWorld(t, saturday)
		w.mustLive(t, berlin, true, "UBERLIN")
		w.mustOwn(t, w.team.ID, "UBERLIN")
		s := w.scheduler(t, "a")

		w.advanceTo(t, utc(2027, 3, 29, 7, 59, 59)) // a second before the next cycle
		mustRun(t, "plan", s.PlanCheckins)
		want := []string{"UBERLIN 2027-03-22 due 2027-03-22T09:00:00Z"}
		if got := planned(w.mustCheckins(t)); !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("not a closed cycle", func(t *testing.T) {
		// Berlin leaves summer time on Sunday 2027-10-31: the cycle due
		// Monday 10-25 at 08:00 UTC closes at 11-01 08:00 UTC, an hour
		// before the next one is due at 10:00 CET, 09:00 UTC.
		w := newWorld(t, utc(2027, 10, 20, 12, 0, 0))
		w.mustLive(t, berlin, true, "UBERLIN")
		w.mustOwn(t, w.team.ID, "UBERLIN")
		s := w.scheduler(t, "a")

		w.advanceTo(t, utc(2027, 11, 1, 8, 30, 0))
		mustRun(t, "plan", s.PlanCheckins)
		if got := planned(w.mustCheckins(t)); len(got) != 0 {
			t.Errorf("in the hour between cycles: got %q, want none", got)
		}
		w.advanceTo(t, utc(2027, 11, 1, 9, 0, 0))
		mustRun(t, "plan", s.PlanCheckins)
		want := []string{"UBERLIN 2027-11-01 due 2027-11-01T09:00:00Z"}
		if got := planned(w.mustCheckins(t)); !slices.Equal(got, want) {
			t.Errorf("at 10:00 CET: got %q, want %q", got, want)
		}
	})

	t.Run("unknown time zones looked up, 50 a round", func(t *testing.T) {
		w := newWorld(t, saturday)
		users := make([]string, 60)
		for i := range users {
			users[i] = fmt.Sprintf("U%02d", i)
		}
		w.mustLive(t, berlin, false, users...)
		w.mustOwn(t, w.team.ID, users...)
		s := w.scheduler(t, "a")
		w.advanceTo(t, utc(2027, 3, 22, 9, 0, 0))

		for i, want := range []struct{ lookups, cached, planned int }{
			{50, 50, 50},
			{60, 60, 60},
			{60, 60, 60}, // everyone cached: nobody looked up again
		} {
			mustRun(t, "plan", s.PlanCheckins)
			var cached int
			if err := w.st.DB().GetContext(context.Background(), &cached, `
				SELECT count(*) FROM slack_users WHERE tz = $1`, berlin); err != nil {
				t.Fatal(err)
			}
			rows := w.mustCheckins(t)
			if got := w.msg.did().lookups; got != want.lookups {
				t.Errorf("round %d: lookups: got %d, want %d", i+1, got, want.lookups)
			}
			if cached != want.cached {
				t.Errorf("round %d: cached: got %d, want %d", i+1, cached, want.cached)
			}
			if len(rows) != want.planned {
				t.Errorf("round %d: planned: got %d, want %d", i+1, len(rows), want.planned)
			}
			for _, r := range rows {
				if want := utc(2027, 3, 22, 9, 0, 0); !r.DueAt.Equal(want) {
					t.Errorf("round %d: %s: got due %v, want %v (10:00 in Berlin)", i+1, r.UserID, r.DueAt.UTC(), want)
				}
			}
		}
	})

	t.Run("twice creates nothing new", func(t *testing.T) {
		w := newWorld(t, saturday)
		w.mustLive(t, berlin, true, "UA", "UB")
		w.mustOwn(t, w.team.ID, "UA", "UB")
		w.advanceTo(t, utc(2027, 3, 22, 9, 0, 0))

		first := w.scheduler(t, "a")
		mustRun(t, "plan", first.PlanCheckins)
		want := w.mustCheckins(t)
		if len(want) != 2 {
			t.Fatalf("planned: got %v, want 2", want)
		}
		w.advanceTo(t, utc(2027, 3, 22, 9, 1, 0))
		// Again in the same process, and in another one that has no memory
		// of what was planned.
		mustRun(t, "plan again", first.PlanCheckins)
		mustRun(t, "plan in another process", w.scheduler(t, "b").PlanCheckins)
		if got := w.mustCheckins(t); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

// plannedWorld returns a world in which users in Berlin owe a check-in due
// now, 2027-03-22 09:00 UTC, planned and not sent yet.
func plannedWorld(tb testing.TB, users ...string) *world {
	tb.Helper()
	w := newWorld(tb, saturday)
	w.mustLive(tb, berlin, true, users...)
	w.mustOwn(tb, w.team.ID, users...)
	w.advanceTo(tb, utc(2027, 3, 22, 9, 0, 0))
	mustRun(tb, "plan", w.scheduler(tb, "planner").PlanCheckins)
	if n := len(w.mustCheckins(tb)); n != len(users) {
		tb.Fatalf("planned: got %d, want %d", n, len(users))
	}
	return w
}

func TestSendCheckinsExactlyOnce(t *testing.T) {
	users := make([]string, 500)
	for i := range users {
		users[i] = fmt.Sprintf("U%03d", i)
	}
	w := plannedWorld(t, users...)
	a, b := w.scheduler(t, "a"), w.scheduler(t, "b")

	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*scheduler.Scheduler{a, b} {
		wg.Go(func() { errs[i] = s.SendCheckins(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	did := w.msg.did()
	rows := w.mustCheckins(t)
	if len(did.sent) != len(rows) {
		t.Errorf("check-ins DMed: got %d, want %d", len(did.sent), len(rows))
	}
	var wrong []string
	for _, r := range rows {
		if n := did.sent[r.ID]; n != 1 || r.State != string(okr.Sent) || r.DMTS == "" || r.ClaimedBy != "" {
			wrong = append(wrong, fmt.Sprintf("%s: %d DMs, state %q, ts %q, claimed by %q", r, n, r.State, r.DMTS, r.ClaimedBy))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d check-ins not sent exactly once (want one DM each, sent, a ts, no claim), e.g.:\n%s",
			len(wrong), strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}
	mustRun(t, "send again", a.SendCheckins)
	if got := w.msg.did().attempts; got != len(rows) {
		t.Errorf("DMs tried after another round: got %d, want %d", got, len(rows))
	}
}

func TestSendCheckinsRecoversADeadSender(t *testing.T) {
	ctx := context.Background()
	w := plannedWorld(t, "UOUT", "UNOTOUT")
	const lease = 30 * time.Second

	// Instance A claims both and dies: UOUT's DM went out, UNOTOUT's did not.
	claimed, err := w.st.ClaimDueCheckins(ctx, w.clock.Now(), "a", lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 {
		t.Fatalf("claimed: got %d, want 2", len(claimed))
	}
	out, notOut := w.mustCheckinOf(t, "UOUT"), w.mustCheckinOf(t, "UNOTOUT")
	if err := w.st.StartSending(ctx, []int64{out.ID, notOut.ID}, "a"); err != nil {
		t.Fatal(err)
	}
	w.msg.setDelivered(out.ID, "1742634000.000100")

	b := w.schedulerWith(t, scheduler.Config{InstanceID: "b", ClaimLease: lease})
	w.clock.Advance(lease / 2)
	mustRun(t, "send while A's claim holds", b.SendCheckins)
	if did := w.msg.did(); did.attempts != 0 {
		t.Errorf("while A's claim holds: got %d DMs tried, want 0", did.attempts)
	}
	if r := w.mustCheckinOf(t, "UOUT"); r.State != string(okr.Sending) || r.ClaimedBy != "a" {
		t.Errorf("while A's claim holds: got state %q claimed by %q, want sending by a", r.State, r.ClaimedBy)
	}

	w.clock.Advance(lease)
	mustRun(t, "send after A's claim expired", b.SendCheckins)
	did := w.msg.did()
	t.Run("DM found in the history", func(t *testing.T) {
		r := w.mustCheckinOf(t, "UOUT")
		if r.State != string(okr.Sent) || r.DMTS != "1742634000.000100" {
			t.Errorf("got state %q ts %q, want sent 1742634000.000100", r.State, r.DMTS)
		}
		if n := did.sent[out.ID]; n != 0 {
			t.Errorf("DMs sent again: got %d, want 0", n)
		}
		// A comes back to life: its record is refused.
		err := w.st.MarkCheckinSent(ctx, out.ID, "a", "DUOUT", "1742634000.000100", w.clock.Now())
		if got := okr.ErrorCode(err); got != okr.ECONFLICT {
			t.Errorf("A marks it sent late: got %q (%v), want %q", got, err, okr.ECONFLICT)
		}
	})
	t.Run("no DM in the history", func(t *testing.T) {
		r := w.mustCheckinOf(t, "UNOTOUT")
		if r.State != string(okr.Sent) || r.DMTS == "" || r.ClaimedBy != "" {
			t.Errorf("got state %q ts %q claimed by %q, want sent with a ts, no claim", r.State, r.DMTS, r.ClaimedBy)
		}
		if n := did.sent[notOut.ID]; n != 1 {
			t.Errorf("DMs sent: got %d, want 1", n)
		}
	})
}

func TestSendCheckinsNotOnAnExpiredClaim(t *testing.T) {
	ctx := context.Background()
	w := plannedWorld(t, "USLOW")
	const lease = 30 * time.Second
	// A sender died holding the check-in, before sending it.
	if _, err := w.st.ClaimDueCheckins(ctx, w.clock.Now(), "dead", lease, 10); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(lease + time.Second)

	b := w.schedulerWith(t, scheduler.Config{InstanceID: "b", ClaimLease: lease})
	c := w.schedulerWith(t, scheduler.Config{InstanceID: "c", ClaimLease: lease})
	// B takes it over, but its look in the DM history is so slow that its
	// own claim expires meanwhile, and C takes it over and sends it.
	var slowed atomic.Bool
	var cErr error // set by B's worker, read after B's round
	w.msg.afterFind = func(okr.Checkin) {
		if slowed.CompareAndSwap(false, true) {
			w.clock.Advance(lease + time.Second)
			cctx, cancel := context.WithTimeout(ctx, roundTimeout)
			defer cancel()
			cErr = c.SendCheckins(cctx)
		}
	}
	mustRun(t, "B sends", b.SendCheckins)
	if cErr != nil {
		t.Fatalf("C sends: %v", cErr)
	}

	r := w.mustCheckinOf(t, "USLOW")
	if got := w.msg.did().sent[r.ID]; got != 1 {
		t.Errorf("DMs: got %d, want 1 (B's claim had expired)", got)
	}
	if r.State != string(okr.Sent) || r.DMTS != fmt.Sprintf("%d.000001", r.ID) {
		t.Errorf("got state %q ts %q, want sent with C's DM", r.State, r.DMTS)
	}
}

// noAnswer is a send that got no answer from Slack: it may have gone out.
type noAnswer struct{}

func (noAnswer) Error() string        { return "Post: context deadline exceeded" }
func (noAnswer) OutcomeUnknown() bool { return true }

func TestSendCheckinsFailures(t *testing.T) {
	t.Run("transient error retried next round", func(t *testing.T) {
		w := plannedWorld(t, "UFLAKY")
		s := w.scheduler(t, "a")
		w.msg.setFail("UFLAKY", errors.New("slack: ratelimited"))
		mustRun(t, "send", s.SendCheckins)
		r := w.mustCheckinOf(t, "UFLAKY")
		if r.State != string(okr.Scheduled) || r.Reason != "slack: ratelimited" || r.ClaimedBy != "" || r.Attempts != 1 {
			t.Errorf("after a failure: got state %q reason %q claimed by %q attempts %d; want scheduled, slack: ratelimited, no claim, 1",
				r.State, r.Reason, r.ClaimedBy, r.Attempts)
		}

		w.msg.setFail("UFLAKY", nil)
		w.clock.Advance(time.Minute)
		mustRun(t, "send", s.SendCheckins)
		r = w.mustCheckinOf(t, "UFLAKY")
		if r.State != string(okr.Sent) || r.Attempts != 2 {
			t.Errorf("next round: got state %q attempts %d, want sent, 2", r.State, r.Attempts)
		}
		if did := w.msg.did(); did.sent[r.ID] != 1 || did.attempts != 2 {
			t.Errorf("next round: got %d DMs in %d tries, want 1 in 2", did.sent[r.ID], did.attempts)
		}
	})

	t.Run("no answer: the DM may be out, so no resend without a look", func(t *testing.T) {
		w := plannedWorld(t, "ULOST")
		s := w.scheduler(t, "a")
		r := w.mustCheckinOf(t, "ULOST")
		// The post went out, but its answer was lost on the way back.
		w.msg.setDelivered(r.ID, "1.000001")
		w.msg.setFail("ULOST", noAnswer{})
		mustRun(t, "send", s.SendCheckins)
		if r = w.mustCheckinOf(t, "ULOST"); r.State != string(okr.Sending) {
			t.Errorf("after no answer: got state %q, want sending (the claim left to expire)", r.State)
		}
		w.msg.setFail("ULOST", nil)
		w.clock.Advance(time.Minute) // the claim still holds: nothing happens
		mustRun(t, "send", s.SendCheckins)
		w.clock.Advance(scheduler.DefaultClaimLease)
		mustRun(t, "send", s.SendCheckins)
		r = w.mustCheckinOf(t, "ULOST")
		if r.State != string(okr.Sent) || r.DMTS != "1.000001" {
			t.Errorf("after the claim expired: got state %q ts %q, want sent with the DM found in the history", r.State, r.DMTS)
		}
		if did := w.msg.did(); did.sent[r.ID] != 0 {
			t.Errorf("got %d DMs sent after the lost answer, want 0 (it was out already)", did.sent[r.ID])
		}
	})

	t.Run("a round where every DM fails ends", func(t *testing.T) {
		users := make([]string, 300) // more than one batch
		for i := range users {
			users[i] = fmt.Sprintf("U%03d", i)
		}
		w := plannedWorld(t, users...)
		for _, u := range users {
			w.msg.setFail(u, errors.New("slack: service unavailable"))
		}
		s := w.scheduler(t, "a")
		ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
		defer cancel()
		if err := s.SendCheckins(ctx); err != nil {
			t.Fatalf("send: got %v, want the round to end by itself", err)
		}
		// One batch was tried, and the next one begun while it was, then
		// the round gave up.
		if got := w.msg.did().attempts; got < scheduler.SendBatch || got > 2*scheduler.SendBatch {
			t.Errorf("DMs tried: got %d, want %d to %d (one batch, and some of the next)", got, scheduler.SendBatch, 2*scheduler.SendBatch)
		}
		for _, r := range w.mustCheckins(t) {
			if r.State != string(okr.Scheduled) {
				t.Fatalf("%s: got state %q, want scheduled", r, r.State)
			}
		}
	})

	t.Run("undeliverable never retried", func(t *testing.T) {
		w := plannedWorld(t, "UGONE")
		s := w.scheduler(t, "a")
		w.msg.setFail("UGONE", fmt.Errorf("bot: send check-in: %w", &okr.Error{Code: okr.EUNDELIVERABLE, Message: "The account is deactivated."}))
		mustRun(t, "send", s.SendCheckins)
		w.clock.Advance(scheduler.DefaultClaimLease + time.Minute)
		mustRun(t, "send", s.SendCheckins)

		r := w.mustCheckinOf(t, "UGONE")
		if r.State != string(okr.Undeliverable) || r.Reason != "The account is deactivated." || r.ClaimedBy != "" {
			t.Errorf("got state %q reason %q claimed by %q, want undeliverable, The account is deactivated., no claim", r.State, r.Reason, r.ClaimedBy)
		}
		if got := w.msg.did().attempts; got != 1 {
			t.Errorf("DMs tried: got %d, want 1", got)
		}
	})
}

func TestAway(t *testing.T) {
	ctx := context.Background()
	t.Run("on the due day: no DM", func(t *testing.T) {
		w := plannedWorld(t, "UAWAY", "UHERE")
		if err := w.st.SetAway(ctx, "UAWAY", utc(2027, 3, 22, 0, 0, 0)); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "send", w.scheduler(t, "a").SendCheckins)
		away, here := w.mustCheckinOf(t, "UAWAY"), w.mustCheckinOf(t, "UHERE")
		if away.State != string(okr.Away) || away.DMTS != "" {
			t.Errorf("away: got state %q ts %q, want away and no DM", away.State, away.DMTS)
		}
		if here.State != string(okr.Sent) {
			t.Errorf("here: got state %q, want sent", here.State)
		}
		if did := w.msg.did(); did.attempts != 1 || did.sent[away.ID] != 0 {
			t.Errorf("got %d DMs tried, %d to UAWAY; want 1, 0", did.attempts, did.sent[away.ID])
		}
	})

	t.Run("on the due day where they live, the next day in UTC", func(t *testing.T) {
		// New York, check-ins Monday 20:00: due 01:00 UTC on Tuesday.
		w := newWorld(t, saturday)
		sc := okr.DefaultSchedule(w.team.ID)
		sc.CheckinMinute = 20 * 60
		if err := w.st.UpdateSchedule(ctx, sc, "ULEAD"); err != nil {
			t.Fatal(err)
		}
		w.mustLive(t, "America/New_York", true, "UNY")
		w.mustOwn(t, w.team.ID, "UNY")
		if err := w.st.SetAway(ctx, "UNY", utc(2027, 3, 22, 0, 0, 0)); err != nil { // away all Monday
			t.Fatal(err)
		}
		w.advanceTo(t, utc(2027, 3, 23, 0, 0, 0))
		s := w.scheduler(t, "a")
		mustRun(t, "plan", s.PlanCheckins)
		mustRun(t, "send", s.SendCheckins)
		if c := w.mustCheckinOf(t, "UNY"); c.State != string(okr.Away) {
			t.Errorf("got state %q, want away: Monday is their due day", c.State)
		}
		if did := w.msg.did(); did.attempts != 0 {
			t.Errorf("got %d DMs tried, want 0", did.attempts)
		}
	})

	t.Run("no reminder", func(t *testing.T) {
		w := plannedWorld(t, "UAWAY", "UHERE")
		s := w.scheduler(t, "a")
		mustRun(t, "send", s.SendCheckins)
		// After the DM, they go away for three days.
		if err := w.st.SetAway(ctx, "UAWAY", utc(2027, 3, 24, 0, 0, 0)); err != nil {
			t.Fatal(err)
		}
		w.advanceTo(t, utc(2027, 3, 23, 9, 0, 0))
		mustRun(t, "remind", s.SendReminders)
		away, here := w.mustCheckinOf(t, "UAWAY"), w.mustCheckinOf(t, "UHERE")
		did := w.msg.did()
		if did.reminded[away.ID] != 0 || did.reminded[here.ID] != 1 {
			t.Errorf("reminders: got %d to UAWAY and %d to UHERE, want 0 and 1", did.reminded[away.ID], did.reminded[here.ID])
		}
	})
}

func TestSendReminders(t *testing.T) {
	w := newWorld(t, saturday)
	quiet := w.mustCreateTeam(t)
	sc := okr.DefaultSchedule(quiet.ID)
	sc.ReminderDelay = 0
	if err := w.st.UpdateSchedule(context.Background(), sc, "ULEAD"); err != nil {
		t.Fatal(err)
	}
	w.mustLive(t, berlin, true, "UNUDGED", "UQUIET")
	w.mustOwn(t, w.team.ID, "UNUDGED")
	w.mustOwn(t, quiet.ID, "UQUIET")
	w.advanceTo(t, utc(2027, 3, 22, 9, 0, 0))
	s := w.scheduler(t, "a")
	mustRun(t, "plan", s.PlanCheckins)
	mustRun(t, "send", s.SendCheckins)
	nudged, quietOne := w.mustCheckinOf(t, "UNUDGED"), w.mustCheckinOf(t, "UQUIET")

	for _, step := range []struct {
		at                    time.Time
		wantNudged, wantQuiet int
	}{
		{utc(2027, 3, 23, 8, 59, 59), 0, 0}, // a second before 24 h
		{utc(2027, 3, 23, 9, 0, 0), 1, 0},
		{utc(2027, 3, 23, 10, 0, 0), 1, 0}, // never twice
		{utc(2027, 3, 28, 9, 0, 0), 1, 0},  // and never with a delay of 0
	} {
		w.advanceTo(t, step.at)
		mustRun(t, "remind", s.SendReminders)
		did := w.msg.did()
		if got := did.reminded[nudged.ID]; got != step.wantNudged {
			t.Errorf("at %s: reminders with a 24 h delay: got %d, want %d", step.at.Format(time.RFC3339), got, step.wantNudged)
		}
		if got := did.reminded[quietOne.ID]; got != step.wantQuiet {
			t.Errorf("at %s: reminders with no delay: got %d, want %d", step.at.Format(time.RFC3339), got, step.wantQuiet)
		}
	}
	if r := w.mustCheckinOf(t, "UNUDGED"); r.RemindersSent != 1 || r.ReminderTS != "r" {
		t.Errorf("reminder recorded: got %d with ts %q, want 1 with ts r", r.RemindersSent, r.ReminderTS)
	}
}

func TestCloseCheckins(t *testing.T) {
	ctx := context.Background()
	w := plannedWorld(t, "USENT", "UNEVER", "UAWAY")
	obs := &countingObserver{}
	s := w.schedulerWith(t, scheduler.Config{InstanceID: "a", Observer: obs})
	w.msg.setFail("UNEVER", errors.New("slack: service unavailable"))
	mustRun(t, "send", s.SendCheckins)
	// UAWAY got the DM and is away for the cycle's last day, 03-28.
	if err := w.st.SetAway(ctx, "UAWAY", utc(2027, 3, 28, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	sent, never, away := w.mustCheckinOf(t, "USENT"), w.mustCheckinOf(t, "UNEVER"), w.mustCheckinOf(t, "UAWAY")

	w.advanceTo(t, utc(2027, 3, 29, 8, 59, 59)) // a second before the week is up
	mustRun(t, "close", s.CloseCheckins)
	for _, r := range w.mustCheckins(t) {
		if !slices.Contains([]string{string(okr.Sent), string(okr.Scheduled)}, r.State) {
			t.Errorf("before a week: %s: got state %q, want still open", r, r.State)
		}
	}
	if did := w.msg.did(); len(did.closed) != 0 {
		t.Errorf("before a week: got DMs closed %v, want none", did.closed)
	}

	w.advanceTo(t, utc(2027, 3, 29, 9, 0, 0))
	mustRun(t, "close", s.CloseCheckins)
	did := w.msg.did()
	for _, tt := range []struct {
		c        checkinRow
		state    okr.CheckinState
		dmClosed bool
	}{
		{sent, okr.Missed, true},
		{never, okr.Missed, false},
		{away, okr.Away, true},
	} {
		r := w.mustCheckinOf(t, tt.c.UserID)
		if r.State != string(tt.state) {
			t.Errorf("%s: got state %q, want %q", tt.c.UserID, r.State, tt.state)
		}
		got, ok := did.closed[tt.c.ID]
		switch {
		case ok != tt.dmClosed:
			t.Errorf("%s: DM closed: got %v, want %v", tt.c.UserID, ok, tt.dmClosed)
		case ok && got != tt.state:
			t.Errorf("%s: DM closed as %q, want %q", tt.c.UserID, got, tt.state)
		}
	}
	// Every closed check-in counts, DM or not.
	if missed, away := obs.count(string(okr.Missed)), obs.count(string(okr.Away)); missed != 2 || away != 1 {
		t.Errorf("counted missed %d and away %d, want 2 and 1", missed, away)
	}
}

func TestCheckinJobRunsEveryMinute(t *testing.T) {
	w := newWorld(t, saturday)
	w.mustLive(t, berlin, true, "UBERLIN")
	w.mustOwn(t, w.team.ID, "UBERLIN")
	due := utc(2027, 3, 22, 9, 0, 0)
	w.advanceTo(t, due.Add(-30*time.Second))

	type run struct {
		job     string
		started time.Time
	}
	runs := make(chan run, 100)
	s := w.schedulerWith(t, scheduler.Config{
		InstanceID: "a",
		JobDone: func(job string, started time.Time) {
			select {
			case runs <- run{job, started}:
			default: // the test is over
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// waitFor returns once a check-in round that started at or after
	// since is done.
	waitFor := func(since time.Time) {
		t.Helper()
		for {
			select {
			case r := <-runs:
				if r.job == "checkins" && !r.started.Before(since) {
					return
				}
			case <-ctx.Done():
				t.Fatal("the check-in round did not run")
			}
		}
	}
	s.Start()
	waitFor(w.clock.Now()) // the round at start, with nothing due yet
	if did := w.msg.did(); did.attempts != 0 {
		t.Fatalf("before 10:00: got %d DMs tried, want 0", did.attempts)
	}
	// Every job waits on the clock: prune-events, sync-users, checkins,
	// pace and reports.
	if err := w.clock.BlockUntilContext(ctx, 5); err != nil {
		t.Fatal(err)
	}
	// The round runs every minute from the last: the one after 08:59:30 is
	// at 09:00:30, within a minute of the check-in's time.
	w.advanceTo(t, due.Add(30*time.Second))
	waitFor(due)

	r := w.mustCheckinOf(t, "UBERLIN")
	if r.State != string(okr.Sent) || !r.DueAt.Equal(due) {
		t.Errorf("got %s %s, want sent, due %v", r, r.State, due)
	}
	if got := w.msg.did().sent[r.ID]; got != 1 {
		t.Errorf("DMs: got %d, want 1", got)
	}
}
