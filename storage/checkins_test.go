package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/scheduler"
	"github.com/okrbot/okrbot/storage"
)

// The scheduler's interface is satisfied; storage itself must not import it.
var _ scheduler.CheckinStore = (*storage.Store)(nil)

// mustOpenFresh returns a migrated store on a database of its own, for tests
// of the work queues, which see every check-in in the database. Extra
// run-time parameters (such as "timezone=America/Los_Angeles") are added to
// the URL.
func mustOpenFresh(tb testing.TB, params ...string) *storage.Store {
	tb.Helper()
	url := pgtest.FreshDatabase(tb)
	for _, p := range params {
		if strings.Contains(url, "?") {
			url += "&" + p
		} else {
			url += "?" + p
		}
	}
	return mustOpenMigrated(tb, url)
}

// mustCreateCheckin stores a scheduled check-in of user in team due at due,
// its cycle starting on due's UTC date, and returns it as stored.
func mustCreateCheckin(tb testing.TB, s *storage.Store, teamID int64, user string, due time.Time) okr.Checkin {
	tb.Helper()
	ctx := context.Background()
	date := time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, time.UTC)
	n, err := s.CreateCheckins(ctx, []okr.Checkin{{TeamID: teamID, UserID: user, CycleStart: date, DueAt: due}})
	if err != nil {
		tb.Fatal(err)
	}
	if n != 1 {
		tb.Fatalf("created: got %d, want 1", n)
	}
	var id int64
	if err := s.DB().GetContext(ctx, &id, `
		SELECT id FROM checkins WHERE team_id = $1 AND user_id = $2 AND cycle_start = $3`,
		teamID, user, date.Format(time.DateOnly)); err != nil {
		tb.Fatal(err)
	}
	return mustCheckin(tb, s, id)
}

func mustCheckin(tb testing.TB, s *storage.Store, id int64) okr.Checkin {
	tb.Helper()
	c, err := s.Checkin(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return *c
}

// mustExec runs a statement through the store's pool.
func mustExec(tb testing.TB, s *storage.Store, query string, args ...any) {
	tb.Helper()
	if _, err := s.DB().ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatal(err)
	}
}

// mustCreateKPI stores a KPI of team owned by owner, archived when asked.
func mustCreateKPI(tb testing.TB, s *storage.Store, teamID int64, owner string, archived bool) {
	tb.Helper()
	var archivedAt *time.Time
	if archived {
		archivedAt = &now
	}
	mustExec(tb, s, `
		INSERT INTO kpis (team_id, name, owner_id, direction, warning, critical, cadence, archived_at)
		VALUES ($1, $2, $3, 'higher_is_better', 99, 95, 'weekly', $4)`,
		teamID, unique("Uptime "), owner, archivedAt)
}

func checkinIDs(cs []okr.Checkin) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	return ids
}

func TestCheckinRecipients(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	lead := unique("U")
	team, other := mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)
	krOwner, deleted, kpiOwner := unique("U"), unique("U"), unique("U")
	closedObj, pastPeriod, archivedKPI := unique("U"), unique("U"), unique("U")

	mustCreateObjective(t, s, newObjective(team.ID, lead,
		metricKR(krOwner, 12, 4), metricKR(deleted, 0, 10), metricKR(krOwner, 1, 2)), q1)
	closed := newObjective(team.ID, lead, metricKR(closedObj, 0, 1))
	closed.Status = okr.Closed
	mustCreateObjective(t, s, closed, q1)
	mustCreateObjective(t, s, newObjective(team.ID, lead, metricKR(pastPeriod, 0, 1)), mustPeriod("2026-Q4"))
	mustCreateKPI(t, s, team.ID, kpiOwner, false)
	mustCreateKPI(t, s, team.ID, krOwner, false)
	mustCreateKPI(t, s, team.ID, archivedKPI, true)
	mustCreateObjective(t, s, newObjective(other.ID, lead, metricKR(krOwner, 0, 1)), q1)

	if err := s.UpsertSlackUsers(ctx, []okr.SlackUser{
		{ID: krOwner, TZ: "Europe/Berlin"},
		{ID: deleted, TZ: "America/New_York", Deleted: true},
	}); err != nil {
		t.Fatal(err)
	}
	sc := okr.DefaultSchedule(team.ID)
	sc.CheckinWeekday, sc.CheckinMinute, sc.ReminderDelay = time.Tuesday, 9*60+15, 90*time.Minute
	if err := s.UpdateSchedule(ctx, sc, lead); err != nil {
		t.Fatal(err)
	}

	rs, err := s.CheckinRecipients(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]okr.Recipient{}
	for _, r := range rs {
		key := fmt.Sprintf("%d/%s", r.TeamID, r.UserID)
		if _, ok := got[key]; ok {
			t.Errorf("recipient %s: listed twice", key)
		}
		// Since is when they first owned something of the team: never zero.
		if r.Since.IsZero() {
			t.Errorf("recipient %s: Since is zero", key)
		}
		r.Since = time.Time{}
		got[key] = r
	}
	want := map[string]okr.Recipient{
		fmt.Sprintf("%d/%s", team.ID, krOwner):  {TeamID: team.ID, UserID: krOwner, TZ: "Europe/Berlin", Known: true, Schedule: sc},
		fmt.Sprintf("%d/%s", team.ID, deleted):  {TeamID: team.ID, UserID: deleted, TZ: "America/New_York", Known: true, Schedule: sc},
		fmt.Sprintf("%d/%s", team.ID, kpiOwner): {TeamID: team.ID, UserID: kpiOwner, Schedule: sc},
		fmt.Sprintf("%d/%s", other.ID, krOwner): {TeamID: other.ID, UserID: krOwner, TZ: "Europe/Berlin", Known: true, Schedule: okr.DefaultSchedule(other.ID)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recipients:\ngot  %+v\nwant %+v", got, want)
	}

	t.Run("no period open", func(t *testing.T) {
		rs, err := s.CheckinRecipients(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.UserID != kpiOwner && r.UserID != krOwner {
				t.Errorf("recipient in 2030: got %+v, want only KPI owners", r)
			}
		}
		if len(rs) != 2 {
			t.Errorf("recipients in 2030: got %d, want 2 (KPI owners)", len(rs))
		}
	})
}

func TestCreateCheckins(t *testing.T) {
	ctx := context.Background()
	// A session time zone west of UTC would move a UTC midnight sent as a
	// timestamp to the day before.
	s := mustOpenFresh(t, "timezone=America/Los_Angeles")
	var tz string
	if err := s.DB().GetContext(ctx, &tz, `SHOW timezone`); err != nil {
		t.Fatal(err)
	}
	if tz != "America/Los_Angeles" {
		t.Fatalf("session time zone: got %q, want America/Los_Angeles", tz)
	}
	team := mustCreateTeam(t, s, unique("U"))
	users := []string{unique("U"), unique("U"), unique("U")}

	// Monday 29 March 2027, the day after Europe's clocks went forward.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	date, due := okr.DefaultSchedule(team.ID).CurrentCycle(time.Date(2027, 3, 29, 12, 0, 0, 0, time.UTC), berlin)
	if want := time.Date(2027, 3, 29, 0, 0, 0, 0, time.UTC); !date.Equal(want) || date.Location() != time.UTC {
		t.Fatalf("cycle date: got %v, want %v", date, want)
	}
	if want := time.Date(2027, 3, 29, 8, 0, 0, 0, time.UTC); !due.Equal(want) {
		t.Fatalf("due: got %v, want %v", due, want)
	}
	var cs []okr.Checkin
	for _, u := range users {
		cs = append(cs, okr.Checkin{TeamID: team.ID, UserID: u, CycleStart: date, DueAt: due, State: okr.Scheduled})
	}

	for i, want := range []int{3, 0} {
		n, err := s.CreateCheckins(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("call %d: created %d, want %d", i+1, n, want)
		}
	}
	n, err := s.CreateCheckins(ctx, append(cs, okr.Checkin{TeamID: team.ID, UserID: users[0], CycleStart: date.AddDate(0, 0, 7), DueAt: due.AddDate(0, 0, 7)}))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("next week's: created %d, want 1", n)
	}

	var rows []struct {
		ID    int64     `db:"id"`
		Date  string    `db:"date"`
		DueAt time.Time `db:"due_at"`
	}
	if err := s.DB().SelectContext(ctx, &rows, `
		SELECT id, CAST(cycle_start AS text) AS date, due_at
		FROM checkins WHERE team_id = $1 AND cycle_start < '2027-04-01'`, team.ID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rows: got %d, want 3", len(rows))
	}
	for _, r := range rows {
		if r.Date != "2027-03-29" || !r.DueAt.Equal(due) {
			t.Errorf("check-in %d: got cycle_start %s due %v, want 2027-03-29 due %v", r.ID, r.Date, r.DueAt, due)
		}
		c := mustCheckin(t, s, r.ID)
		if y, m, d := c.CycleStart.Date(); y != 2027 || m != time.March || d != 29 {
			t.Errorf("check-in %d: got CycleStart %v, want 2027-03-29", r.ID, c.CycleStart)
		}
		if c.State != okr.Scheduled || c.Attempts != 0 || c.ClaimedBy != "" || c.ClaimedUntil != nil {
			t.Errorf("check-in %d: got %+v, want scheduled and unclaimed", r.ID, c)
		}
	}

	if n, err := s.CreateCheckins(ctx, nil); err != nil || n != 0 {
		t.Errorf("no check-ins: got %d, %v, want 0, nil", n, err)
	}
}

func TestClaimDueCheckins(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	team := mustCreateTeam(t, s, unique("U"))
	const lease = 2 * time.Minute

	var due []okr.Checkin
	for range 40 {
		due = append(due, mustCreateCheckin(t, s, team.ID, unique("U"), now.Add(-time.Hour)))
	}
	later := mustCreateCheckin(t, s, team.ID, unique("U"), now.Add(time.Hour))
	closed := mustCreateCheckin(t, s, team.ID, unique("U"), now.Add(-okr.CycleLength))

	t.Run("exactly once across claimers", func(t *testing.T) {
		const claimers = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			claimed = map[int64]string{}
			errs    []error
		)
		start := make(chan struct{})
		for i := range claimers {
			by := fmt.Sprintf("sender-%d", i)
			wg.Go(func() {
				<-start
				for {
					cs, err := s.ClaimDueCheckins(ctx, now, by, lease, 3)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					for _, c := range cs {
						if prev, ok := claimed[c.ID]; ok {
							errs = append(errs, fmt.Errorf("check-in %d claimed by %s and %s", c.ID, prev, by))
						}
						claimed[c.ID] = by
						if c.State != okr.Sending || c.ClaimedBy != by || c.Attempts != 1 || c.Recovered ||
							c.ClaimedUntil == nil || !c.ClaimedUntil.Equal(now.Add(lease)) {
							errs = append(errs, fmt.Errorf("claimed check-in: got %+v, want sending by %s until now+lease, attempt 1", c, by))
						}
					}
					mu.Unlock()
					if err != nil || len(cs) == 0 {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if got, want := slices.Sorted(maps.Keys(claimed)), checkinIDs(due); !slices.Equal(got, want) {
			t.Errorf("claimed: got %v, want %v", got, want)
		}
	})

	t.Run("live claim not taken over", func(t *testing.T) {
		cs, err := s.ClaimDueCheckins(ctx, now.Add(lease-time.Second), "late", lease, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 0 {
			t.Errorf("claimed: got %v, want none", checkinIDs(cs))
		}
	})

	recoverAt := now.Add(lease + time.Second)
	var recovered []okr.Checkin
	t.Run("expired claim recovered", func(t *testing.T) {
		// The claimers handed all but the first two to senders; a DM of
		// those two cannot be out.
		byClaimer := map[string][]int64{}
		var rows []struct {
			ID int64  `db:"id"`
			By string `db:"claimed_by"`
		}
		if err := s.DB().SelectContext(ctx, &rows, `SELECT id, claimed_by FROM checkins WHERE state = 'sending' ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		notStarted := map[int64]bool{}
		for i, r := range rows {
			if i < 2 {
				notStarted[r.ID] = true
				continue
			}
			byClaimer[r.By] = append(byClaimer[r.By], r.ID)
		}
		for by, ids := range byClaimer {
			if err := s.StartSending(ctx, ids, by); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.StartSending(ctx, []int64{rows[0].ID}, "not-its-claimer"); err != nil {
			t.Fatal(err)
		}
		var err error
		recovered, err = s.ClaimDueCheckins(ctx, recoverAt, "rescuer", lease, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := checkinIDs(recovered), checkinIDs(due); !slices.Equal(got, want) {
			t.Errorf("recovered: got %v, want %v", got, want)
		}
		for _, c := range recovered {
			if c.Recovered == notStarted[c.ID] || c.ClaimedBy != "rescuer" || c.Attempts != 2 || !c.ClaimedUntil.Equal(recoverAt.Add(lease)) {
				t.Errorf("recovered check-in: got %+v, want recovered (unless never started: %v) by rescuer, attempt 2", c, notStarted[c.ID])
			}
		}
		// The rescuer starts sending them all.
		if err := s.StartSending(ctx, checkinIDs(recovered), "rescuer"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("mark sent", func(t *testing.T) {
		c := recovered[0]
		err := s.MarkCheckinSent(ctx, c.ID, "sender-0", "D1", "1.1", recoverAt)
		wantCode(t, err, okr.ECONFLICT)
		if err := s.MarkCheckinSent(ctx, c.ID, "rescuer", "D1", "1.2", recoverAt); err != nil {
			t.Fatal(err)
		}
		got := mustCheckin(t, s, c.ID)
		if got.State != okr.Sent || got.DMChannel != "D1" || got.DMTS != "1.2" || got.SentAt == nil ||
			!got.SentAt.Equal(recoverAt) || got.ClaimedBy != "" || got.ClaimedUntil != nil {
			t.Errorf("sent check-in: got %+v", got)
		}
		err = s.MarkCheckinSent(ctx, c.ID, "rescuer", "D1", "1.3", recoverAt)
		wantCode(t, err, okr.ECONFLICT)
	})

	t.Run("release and claim again", func(t *testing.T) {
		c := recovered[1]
		wantCode(t, s.ReleaseCheckin(ctx, c.ID, "someone", "nope"), okr.ECONFLICT)
		if err := s.ReleaseCheckin(ctx, c.ID, "rescuer", "slack: ratelimited"); err != nil {
			t.Fatal(err)
		}
		got := mustCheckin(t, s, c.ID)
		if got.State != okr.Scheduled || got.ClaimedBy != "" || got.ClaimedUntil != nil || got.Reason != "slack: ratelimited" {
			t.Errorf("released check-in: got %+v", got)
		}
		cs, err := s.ClaimDueCheckins(ctx, recoverAt, "again", lease, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].ID != c.ID || cs[0].Recovered || cs[0].Attempts != 3 || cs[0].ClaimedBy != "again" {
			t.Errorf("claimed again: got %+v, want check-in %d, not recovered, attempt 3", cs, c.ID)
		}
		if err := s.StartSending(ctx, []int64{c.ID}, "again"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("set state", func(t *testing.T) {
		c := recovered[2]
		wantCode(t, s.SetCheckinState(ctx, c.ID, okr.Answered, ""), okr.EINVALID)
		if err := s.SetCheckinState(ctx, c.ID, okr.Undeliverable, "account deactivated"); err != nil {
			t.Fatal(err)
		}
		got := mustCheckin(t, s, c.ID)
		if got.State != okr.Undeliverable || got.Reason != "account deactivated" || got.ClaimedBy != "" || got.ClaimedUntil != nil {
			t.Errorf("undeliverable check-in: got %+v", got)
		}
		var closedAt time.Time
		if err := s.DB().GetContext(ctx, &closedAt, `SELECT closed_at FROM checkins WHERE id = $1`, c.ID); err != nil {
			t.Fatal(err)
		}
		if !closedAt.Equal(now) {
			t.Errorf("closed_at: got %v, want %v", closedAt, now)
		}
		wantCode(t, s.SetCheckinState(ctx, c.ID, okr.Away, "away"), okr.ECONFLICT)
	})

	t.Run("not due and closed", func(t *testing.T) {
		// An hour on, every lease has expired: only the later check-in is new,
		// and the one whose cycle closed is never claimed.
		at := now.Add(time.Hour)
		cs, err := s.ClaimDueCheckins(ctx, at, "hourly", lease, 100)
		if err != nil {
			t.Fatal(err)
		}
		var fresh []int64
		for _, c := range cs {
			if c.ID == closed.ID {
				t.Errorf("claimed the check-in of a closed cycle: %+v", c)
			}
			if !c.Recovered {
				fresh = append(fresh, c.ID)
			}
		}
		if !slices.Equal(fresh, []int64{later.ID}) {
			t.Errorf("newly claimed: got %v, want [%d]", fresh, later.ID)
		}
		if got := mustCheckin(t, s, closed.ID); got.State != okr.Scheduled || got.Attempts != 0 {
			t.Errorf("closed cycle's check-in: got %+v, want untouched", got)
		}
	})

	t.Run("limit", func(t *testing.T) {
		cs, err := s.ClaimDueCheckins(ctx, now.Add(2*time.Hour), "small", lease, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 {
			t.Errorf("claimed: got %d, want 2", len(cs))
		}
	})
}

// mustSend claims a check-in and marks it sent at `at`.
func mustSend(tb testing.TB, s *storage.Store, c okr.Checkin, at time.Time) {
	tb.Helper()
	ctx := context.Background()
	cs, err := s.ClaimDueCheckins(ctx, at, "sender", time.Minute, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	if !slices.Contains(checkinIDs(cs), c.ID) {
		tb.Fatalf("check-in %d not claimed", c.ID)
	}
	if err := s.MarkCheckinSent(ctx, c.ID, "sender", "D"+c.UserID, fmt.Sprint(c.ID), at); err != nil {
		tb.Fatal(err)
	}
	for _, o := range cs {
		if o.ID != c.ID {
			if err := s.ReleaseCheckin(ctx, o.ID, "sender", ""); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func TestClaimReminders(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	lead := unique("U")
	team, quiet := mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)
	sc := okr.DefaultSchedule(quiet.ID)
	sc.ReminderDelay = 0
	if err := s.UpdateSchedule(ctx, sc, lead); err != nil {
		t.Fatal(err)
	}
	sent := now.Add(-time.Hour)
	c := mustCreateCheckin(t, s, team.ID, unique("U"), sent)
	mustSend(t, s, c, sent)
	q := mustCreateCheckin(t, s, quiet.ID, unique("U"), sent)
	mustSend(t, s, q, sent)
	unsent := mustCreateCheckin(t, s, team.ID, unique("U"), sent)

	remindAt := sent.Add(24 * time.Hour)
	for _, step := range []struct {
		name string
		at   time.Time
		want []int64
	}{
		{"before the delay", remindAt.Add(-time.Microsecond), nil},
		{"at the delay", remindAt, []int64{c.ID}},
		{"once", remindAt.Add(time.Hour), nil},
		{"never with a delay of 0, never when not sent", sent.Add(6 * 24 * time.Hour), nil},
	} {
		cs, err := s.ClaimReminders(ctx, step.at, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkinIDs(cs); !slices.Equal(got, step.want) {
			t.Errorf("%s: got %v, want %v", step.name, got, step.want)
		}
		for _, r := range cs {
			if r.RemindersSent != 1 {
				t.Errorf("%s: reminders sent: got %d, want 1", step.name, r.RemindersSent)
			}
		}
	}
	if got := mustCheckin(t, s, unsent.ID); got.RemindersSent != 0 {
		t.Errorf("unsent check-in: reminders sent %d, want 0", got.RemindersSent)
	}

	if err := s.SetReminderTS(ctx, c.ID, "2.5"); err != nil {
		t.Fatal(err)
	}
	if got := mustCheckin(t, s, c.ID); got.ReminderTS != "2.5" {
		t.Errorf("reminder ts: got %q, want 2.5", got.ReminderTS)
	}
	wantCode(t, s.SetReminderTS(ctx, -1, "x"), okr.ENOTFOUND)

	t.Run("concurrently", func(t *testing.T) {
		var ids []int64
		for range 30 {
			c := mustCreateCheckin(t, s, team.ID, unique("U"), sent)
			mustSend(t, s, c, sent)
			ids = append(ids, c.ID)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			got  []int64
			errs []error
		)
		for range 8 {
			wg.Go(func() {
				for {
					cs, err := s.ClaimReminders(ctx, remindAt, 4)
					mu.Lock()
					got = append(got, checkinIDs(cs)...)
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
					if err != nil || len(cs) == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("reminded: got %v, want %v", got, ids)
		}
	})
}

func TestCloseCheckins(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	team := mustCreateTeam(t, s, unique("U"))
	due := now.Add(-okr.CycleLength)
	cycleStart := time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, time.UTC)

	var (
		missedDM   = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		missedNoDM = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		awayDM     = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		backEarly  = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		sending    = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		answered   = mustCreateCheckin(t, s, team.ID, unique("U"), due)
		stillOpen  = mustCreateCheckin(t, s, team.ID, unique("U"), due.Add(time.Microsecond))
	)
	for _, c := range []okr.Checkin{missedDM, awayDM, backEarly} {
		mustExec(t, s, `UPDATE checkins SET state = 'sent', dm_channel = 'D1', dm_ts = $2, sent_at = due_at WHERE id = $1`,
			c.ID, fmt.Sprint(c.ID))
	}
	mustExec(t, s, `UPDATE checkins SET state = 'sending', claimed_by = 'dead', claimed_until = $2 WHERE id = $1`,
		sending.ID, due.Add(time.Minute))
	mustExec(t, s, `UPDATE checkins SET state = 'answered', dm_ts = '9.9' WHERE id = $1`, answered.ID)
	// Away on the last day of the cycle, and back the day before.
	if err := s.SetAway(ctx, awayDM.UserID, cycleStart.AddDate(0, 0, 6)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAway(ctx, backEarly.UserID, cycleStart.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}

	closed, err := s.CloseCheckins(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := checkinIDs(closed), checkinIDs([]okr.Checkin{missedDM, missedNoDM, awayDM, backEarly, sending}); !slices.Equal(got, want) {
		t.Errorf("closed: got %v, want %v", got, want)
	}
	for _, c := range closed {
		hadDM := c.ID == missedDM.ID || c.ID == awayDM.ID || c.ID == backEarly.ID
		if c.TeamID != team.ID || hadDM != (c.DMTS != "" && c.DMChannel == "D1") {
			t.Errorf("closed check-in: got %+v, want its team, and its DM if it had one (%v)", c, hadDM)
		}
	}
	for c, want := range map[okr.Checkin]okr.CheckinState{
		missedDM: okr.Missed, missedNoDM: okr.Missed, awayDM: okr.Away, backEarly: okr.Missed,
		sending: okr.Missed, answered: okr.Answered, stillOpen: okr.Scheduled,
	} {
		got := mustCheckin(t, s, c.ID)
		if got.State != want {
			t.Errorf("check-in of %s: got %s, want %s", c.UserID, got.State, want)
		}
		if want == okr.Missed && (got.ClaimedBy != "" || got.ClaimedUntil != nil) {
			t.Errorf("check-in of %s: still claimed: %+v", c.UserID, got)
		}
	}

	again, err := s.CloseCheckins(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("closed again: got %v, want none", checkinIDs(again))
	}
}

func TestRecordCheckin(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user, other := unique("U"), unique("U")
	team := mustCreateTeam(t, s, user)
	kr1, kr2 := metricKR(user, 12, 4), metricKR(user, 0, 100)
	kr2.Confidence = 5
	o := newObjective(team.ID, user, kr1, kr2)
	mustCreateObjective(t, s, o, q1)
	kr1ID, kr2ID := o.KeyResults[0].ID, o.KeyResults[1].ID
	at := now.Add(time.Hour)

	countUpdates := func(t *testing.T, checkinID int64) int {
		t.Helper()
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM kr_updates WHERE checkin_id = $1`, checkinID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	keyResult := func(t *testing.T, id int64) okr.KeyResult {
		t.Helper()
		obj, err := s.Objective(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, kr := range obj.KeyResults {
			if kr.ID == id {
				return kr
			}
		}
		t.Fatalf("key result %d not found", id)
		return okr.KeyResult{}
	}

	c := mustCreateCheckin(t, s, team.ID, user, now.Add(-time.Hour))
	if err := s.SaveCheckinDraft(ctx, c.ID, 0, json.RawMessage(`{"kr":1}`)); err != nil {
		t.Fatal(err)
	}
	answer := okr.CheckinAnswer{
		CheckinID: &c.ID,
		UserID:    user,
		Updates: []okr.KRUpdate{
			{KeyResultID: kr1ID, Value: 9.5, Confidence: 7, Status: okr.OnTrack, Comment: "better"},
			{KeyResultID: kr2ID, Value: 40},
		},
		Blockers: "waiting on legal",
		At:       at,
	}

	t.Run("answered", func(t *testing.T) {
		ok, err := s.RecordCheckin(ctx, answer)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatal("recorded: got false, want true")
		}
		if n := countUpdates(t, c.ID); n != 2 {
			t.Errorf("updates: got %d, want 2", n)
		}
		var u okr.KRUpdate
		if err := s.DB().GetContext(ctx, &u, `
			SELECT id, key_result_id, value, confidence, status, comment, user_id, checkin_id, created_at
			FROM kr_updates WHERE checkin_id = $1 AND key_result_id = $2`, c.ID, kr1ID); err != nil {
			t.Fatal(err)
		}
		if u.Value != 9.5 || u.Confidence != 7 || u.Status != okr.OnTrack || u.Comment != "better" ||
			u.UserID != user || !u.CreatedAt.Equal(at) {
			t.Errorf("update: got %+v", u)
		}
		if kr := keyResult(t, kr1ID); kr.Current != 9.5 || kr.Confidence != 7 || !kr.UpdatedAt.Equal(at) {
			t.Errorf("key result 1: got current %v confidence %d updated %v, want 9.5, 7, %v", kr.Current, kr.Confidence, kr.UpdatedAt, at)
		}
		if kr := keyResult(t, kr2ID); kr.Current != 40 || kr.Confidence != 5 {
			t.Errorf("key result 2: got current %v confidence %d, want 40 and the old 5", kr.Current, kr.Confidence)
		}
		got := mustCheckin(t, s, c.ID)
		if got.State != okr.Answered || got.Blockers != "waiting on legal" || got.AnsweredAt == nil || !got.AnsweredAt.Equal(at) {
			t.Errorf("check-in: got %+v", got)
		}
		drafts, err := s.CheckinDrafts(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(drafts) != 0 {
			t.Errorf("drafts: got %d, want none", len(drafts))
		}
	})

	t.Run("twice", func(t *testing.T) {
		again := answer
		again.Updates = []okr.KRUpdate{{KeyResultID: kr1ID, Value: 1, Confidence: 2}}
		again.Blockers = "none"
		ok, err := s.RecordCheckin(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Error("recorded: got true, want false")
		}
		if n := countUpdates(t, c.ID); n != 2 {
			t.Errorf("updates: got %d, want 2", n)
		}
		if kr := keyResult(t, kr1ID); kr.Current != 9.5 || kr.Confidence != 7 {
			t.Errorf("key result 1: got current %v confidence %d, want 9.5, 7", kr.Current, kr.Confidence)
		}
		if got := mustCheckin(t, s, c.ID); got.Blockers != "waiting on legal" {
			t.Errorf("blockers: got %q, want the first answer's", got.Blockers)
		}
	})

	t.Run("unknown key result", func(t *testing.T) {
		c := mustCreateCheckin(t, s, team.ID, user, now.Add(-25*time.Hour))
		ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
			CheckinID: &c.ID, UserID: user, At: at,
			Updates: []okr.KRUpdate{{KeyResultID: kr1ID, Value: 99, Confidence: 1}, {KeyResultID: -1, Value: 1}},
		})
		wantCode(t, err, okr.ENOTFOUND)
		if ok {
			t.Error("recorded: got true, want false")
		}
		if n := countUpdates(t, c.ID); n != 0 {
			t.Errorf("updates: got %d, want 0", n)
		}
		if kr := keyResult(t, kr1ID); kr.Current != 9.5 {
			t.Errorf("key result 1: got current %v, want 9.5", kr.Current)
		}
		if got := mustCheckin(t, s, c.ID); got.State != okr.Scheduled {
			t.Errorf("check-in: got %s, want scheduled", got.State)
		}
	})

	t.Run("someone else's", func(t *testing.T) {
		c := mustCreateCheckin(t, s, team.ID, other, now.Add(-time.Hour))
		_, err := s.RecordCheckin(ctx, okr.CheckinAnswer{CheckinID: &c.ID, UserID: user, At: at})
		wantCode(t, err, okr.EFORBIDDEN)
		if got := mustCheckin(t, s, c.ID); got.State != okr.Scheduled {
			t.Errorf("check-in: got %s, want scheduled", got.State)
		}
	})

	t.Run("unknown check-in", func(t *testing.T) {
		id := int64(-1)
		_, err := s.RecordCheckin(ctx, okr.CheckinAnswer{CheckinID: &id, UserID: user, At: at})
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("off-cycle", func(t *testing.T) {
		offAt := at.Add(time.Hour)
		ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
			UserID: user, At: offAt,
			Updates: []okr.KRUpdate{{KeyResultID: kr2ID, Value: 55, Confidence: 8}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Error("recorded: got false, want true")
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `
			SELECT count(*) FROM kr_updates
			WHERE key_result_id = $1 AND checkin_id IS NULL AND value = 55 AND created_at = $2`, kr2ID, offAt); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("off-cycle updates: got %d, want 1", n)
		}
		if kr := keyResult(t, kr2ID); kr.Current != 55 || kr.Confidence != 8 {
			t.Errorf("key result 2: got current %v confidence %d, want 55, 8", kr.Current, kr.Confidence)
		}
	})
}

func TestSkipCheckin(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	c := mustCreateCheckin(t, s, team.ID, user, now.Add(-time.Hour))
	for i, want := range []bool{true, false} {
		ok, err := s.SkipCheckin(ctx, c.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok != want {
			t.Errorf("skip %d: got %v, want %v", i+1, ok, want)
		}
	}
	if got := mustCheckin(t, s, c.ID); got.State != okr.Skipped {
		t.Errorf("state: got %s, want skipped", got.State)
	}
	ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{CheckinID: &c.ID, UserID: user, At: now})
	if err != nil || ok {
		t.Errorf("answering a skipped check-in: got %v, %v, want false, nil", ok, err)
	}
}

func TestOpenCheckins(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	a, b := mustCreateTeam(t, s, user), mustCreateTeam(t, s, user)
	newer := mustCreateCheckin(t, s, a.ID, user, now.Add(-time.Hour))
	older := mustCreateCheckin(t, s, b.ID, user, now.Add(-2*time.Hour))
	skipped := mustCreateCheckin(t, s, a.ID, user, now.Add(-8*24*time.Hour))
	if _, err := s.SkipCheckin(ctx, skipped.ID, now); err != nil {
		t.Fatal(err)
	}
	cs, err := s.OpenCheckins(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, c := range cs {
		got = append(got, c.ID)
	}
	if want := []int64{older.ID, newer.ID}; !slices.Equal(got, want) {
		t.Errorf("open check-ins: got %v, want %v", got, want)
	}
	_, err = s.Checkin(ctx, -1)
	wantCode(t, err, okr.ENOTFOUND)
}

func TestCheckinDrafts(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	c := mustCreateCheckin(t, s, team.ID, user, now.Add(-time.Hour))
	for _, d := range []struct {
		page    int
		answers string
	}{{1, `{"page": 1}`}, {0, `{"page": 0}`}, {1, `{"page": 1, "again": true}`}} {
		if err := s.SaveCheckinDraft(ctx, c.ID, d.page, json.RawMessage(d.answers)); err != nil {
			t.Fatal(err)
		}
	}
	drafts, err := s.CheckinDrafts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, d := range drafts {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []map[string]any{{"page": 0.0}, {"page": 1.0, "again": true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drafts: got %v, want %v", got, want)
	}
	wantCode(t, s.SaveCheckinDraft(ctx, -1, 0, json.RawMessage(`{}`)), okr.ENOTFOUND)
	wantCode(t, s.SaveCheckinDraft(ctx, c.ID, 0, json.RawMessage(`{`)), okr.EINVALID)
}

func TestOwnedKeyResults(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user, other := unique("U"), unique("U")
	suffix := unique("")
	beta := &okr.Team{Name: "beta " + suffix, ChannelID: unique("C"), CreatedBy: user}
	alpha := &okr.Team{Name: "Alpha " + suffix, ChannelID: unique("C"), CreatedBy: user}
	for _, team := range []*okr.Team{beta, alpha} {
		if err := s.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	ob := newObjective(beta.ID, other, metricKR(user, 0, 1))
	mustCreateObjective(t, s, ob, q1)
	oa := newObjective(alpha.ID, other, metricKR(user, 0, 1), metricKR(other, 0, 1), metricKR(user, 0, 2))
	mustCreateObjective(t, s, oa, q1)
	closed := newObjective(alpha.ID, user, metricKR(user, 0, 1))
	closed.Status = okr.Closed
	mustCreateObjective(t, s, closed, q1)
	mustCreateObjective(t, s, newObjective(alpha.ID, user, metricKR(user, 0, 1)), q2)

	krs, err := s.OwnedKeyResults(ctx, user, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID             int64
		ObjectiveTitle string
		TeamID         int64
		TeamName       string
	}
	var got []row
	for _, kr := range krs {
		got = append(got, row{kr.ID, kr.ObjectiveTitle, kr.TeamID, kr.TeamName})
	}
	want := []row{
		{oa.KeyResults[0].ID, oa.Title, alpha.ID, alpha.Name},
		{oa.KeyResults[2].ID, oa.Title, alpha.ID, alpha.Name},
		{ob.KeyResults[0].ID, ob.Title, beta.ID, beta.Name},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owned key results:\ngot  %+v\nwant %+v", got, want)
	}
	if len(krs) > 0 && (krs[0].OwnerID != user || krs[0].Target != 1 || krs[0].ObjectiveID != oa.ID) {
		t.Errorf("key result: got %+v", krs[0].KeyResult)
	}

	krs, err = s.OwnedKeyResults(ctx, user, beta.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(krs) != 1 || krs[0].ID != ob.KeyResults[0].ID {
		t.Errorf("in beta: got %+v, want key result %d", krs, ob.KeyResults[0].ID)
	}
}

func TestSchedules(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)
	if sc, err := s.Schedule(ctx, team.ID); err != nil || sc != okr.DefaultSchedule(team.ID) {
		t.Errorf("new team's schedule: got %+v, %v, want the default", sc, err)
	}
	want := okr.Schedule{
		TeamID: team.ID, CheckinWeekday: time.Wednesday, CheckinMinute: 8*60 + 30,
		ReminderDelay: 3*time.Hour + 1, DigestWeekday: time.Thursday, DigestMinute: 17 * 60,
	}
	if err := s.UpdateSchedule(ctx, want, lead); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Schedule(ctx, team.ID); err != nil || got != want {
		t.Errorf("updated schedule: got %+v, %v, want %+v", got, err, want)
	}
	var by string
	if err := s.DB().GetContext(ctx, &by, `SELECT updated_by FROM schedules WHERE team_id = $1`, team.ID); err != nil || by != lead {
		t.Errorf("updated by: got %q, %v, want %q", by, err, lead)
	}

	bad := want
	bad.CheckinMinute = 2000
	wantCode(t, s.UpdateSchedule(ctx, bad, lead), okr.EINVALID)
	if got, _ := s.Schedule(ctx, team.ID); got != want {
		t.Errorf("after an invalid update: got %+v, want %+v", got, want)
	}
	wantCode(t, s.UpdateSchedule(ctx, okr.DefaultSchedule(-1), lead), okr.ENOTFOUND)
}

// TestCheckinsAtScale plays a week of check-in delivery for 10,000 people
// and logs how long each step takes (go test -v -run AtScale).
func TestCheckinsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 people: not in -short")
	}
	const people = 10000
	ctx := context.Background()
	s := mustOpenFresh(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)
	o := newObjective(team.ID, lead, metricKR(lead, 0, 1))
	mustCreateObjective(t, s, o, q1)
	// One key result per person, written by SQL: the subject is check-ins.
	mustExec(t, s, `
		INSERT INTO key_results (objective_id, position, title, owner_id, kind,
			start_value, target_value, current_value)
		SELECT $1, i, 'KR ' || i, 'UBULK' || i, 'metric', 0, 1, 0
		FROM generate_series(1, $2) AS i`, o.ID, people)

	users := make([]okr.SlackUser, people)
	for i := range users {
		users[i] = okr.SlackUser{ID: fmt.Sprintf("UBULK%d", i+1), TZ: "Europe/Berlin"}
	}
	step := func(name string, f func() int) {
		t.Helper()
		start := time.Now()
		n := f()
		t.Logf("%-40s %6d rows in %v", name, n, time.Since(start).Round(time.Millisecond))
	}
	step("UpsertSlackUsers (insert)", func() int {
		if err := s.UpsertSlackUsers(ctx, users); err != nil {
			t.Fatal(err)
		}
		return len(users)
	})
	step("UpsertSlackUsers (update)", func() int {
		if err := s.UpsertSlackUsers(ctx, users); err != nil {
			t.Fatal(err)
		}
		return len(users)
	})
	var rs []okr.Recipient
	step("CheckinRecipients", func() int {
		var err error
		if rs, err = s.CheckinRecipients(ctx, now); err != nil {
			t.Fatal(err)
		}
		return len(rs)
	})
	if len(rs) != people+1 {
		t.Fatalf("recipients: got %d, want %d", len(rs), people+1)
	}
	cs := make([]okr.Checkin, len(rs))
	for i, r := range rs {
		date, due := r.Schedule.CurrentCycle(now, okr.SlackUser{TZ: r.TZ}.Location(time.UTC))
		cs[i] = okr.Checkin{TeamID: r.TeamID, UserID: r.UserID, CycleStart: date, DueAt: due}
	}
	step("CreateCheckins", func() int {
		n, err := s.CreateCheckins(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(cs) {
			t.Fatalf("created: got %d, want %d", n, len(cs))
		}
		return n
	})
	step("CreateCheckins (again, none new)", func() int {
		n, err := s.CreateCheckins(ctx, cs)
		if err != nil || n != 0 {
			t.Fatalf("created again: got %d, %v, want 0", n, err)
		}
		return len(cs)
	})
	claimed := 0
	step("ClaimDueCheckins (batches of 200)", func() int {
		for {
			batch, err := s.ClaimDueCheckins(ctx, now, "bulk", time.Minute, 200)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				return claimed
			}
			claimed += len(batch)
		}
	})
	if claimed != len(cs) {
		t.Fatalf("claimed: got %d, want %d", claimed, len(cs))
	}
	step("ClaimDueCheckins (recover 10,000 at once)", func() int {
		batch, err := s.ClaimDueCheckins(ctx, now.Add(2*time.Minute), "bulk", time.Minute, 2*people)
		if err != nil {
			t.Fatal(err)
		}
		return len(batch)
	})
	mustExec(t, s, `UPDATE checkins SET state = 'sent', sent_at = due_at, dm_ts = '1.1', claimed_by = '', claimed_until = NULL`)
	step("ClaimReminders (batches of 200)", func() int {
		n := 0
		for {
			batch, err := s.ClaimReminders(ctx, now.Add(25*time.Hour), 200)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				return n
			}
			n += len(batch)
		}
	})
	step("CloseCheckins", func() int {
		closed, err := s.CloseCheckins(ctx, now.Add(8*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(closed)
	})
}

// TestBatchedDelivery checks what a batch of check-in DMs reads and writes
// at once: absences with the claim, people, key results and KPIs of many,
// and the DMs recorded in one statement.
func TestBatchedDelivery(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	lead := unique("U")
	team, other := mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)
	owner, away, nobody := unique("U"), unique("U"), unique("U")
	mustCreateObjective(t, s, newObjective(team.ID, lead, metricKR(owner, 0, 10), metricKR(away, 1, 2)), q1)
	mustCreateObjective(t, s, newObjective(other.ID, lead, metricKR(owner, 5, 6)), q1)
	mustCreateKPI(t, s, team.ID, owner, false)
	mustCreateKPI(t, s, other.ID, owner, false)
	mustCreateKPI(t, s, team.ID, away, true)

	t.Run("key results of many, as of one", func(t *testing.T) {
		pairs := []okr.TeamMember{{UserID: owner, TeamID: team.ID}, {UserID: owner, TeamID: other.ID}, {UserID: away, TeamID: team.ID}, {UserID: nobody, TeamID: team.ID}}
		got, err := s.OwnedKeyResultsOf(ctx, pairs, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pairs {
			want, err := s.OwnedKeyResults(ctx, p.UserID, p.TeamID, now)
			if err != nil {
				t.Fatal(err)
			}
			if g := got[p]; len(g) != len(want) || (len(want) > 0 && !reflect.DeepEqual(g, want)) {
				t.Errorf("%+v: got %+v, want %+v", p, g, want)
			}
		}
		if len(got[pairs[0]]) != 1 || len(got[pairs[1]]) != 1 || len(got[pairs[3]]) != 0 {
			t.Errorf("counts: %d, %d, %d", len(got[pairs[0]]), len(got[pairs[1]]), len(got[pairs[3]]))
		}
	})

	t.Run("KPIs and people of many", func(t *testing.T) {
		got, err := s.KPIsOwnedByAny(ctx, []string{owner, away, nobody})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{owner, away, nobody} {
			want, err := s.KPIsOwnedBy(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if len(got[u]) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got[u], want)) {
				t.Errorf("%s: got %+v, want %+v", u, got[u], want)
			}
		}
		if len(got[owner]) != 2 || len(got[away]) != 0 {
			t.Errorf("owner has %d KPIs, want 2; the archived one counts for nobody: %d", len(got[owner]), len(got[away]))
		}
		if err := s.UpsertSlackUsers(ctx, []okr.SlackUser{{ID: owner, TZ: "Asia/Tokyo"}, {ID: away, Deleted: true}}); err != nil {
			t.Fatal(err)
		}
		people, err := s.SlackUsersByID(ctx, []string{owner, away, nobody})
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 2 || people[owner].TZ != "Asia/Tokyo" || !people[away].Deleted {
			t.Errorf("people: %+v", people)
		}
	})

	t.Run("claimed with the absence, recorded together", func(t *testing.T) {
		until := now.AddDate(0, 0, 7)
		if err := s.SetAway(ctx, away, until); err != nil {
			t.Fatal(err)
		}
		a := mustCreateCheckin(t, s, team.ID, owner, now.Add(-time.Hour))
		b := mustCreateCheckin(t, s, team.ID, away, now.Add(-time.Hour))
		c := mustCreateCheckin(t, s, other.ID, owner, now.Add(-time.Hour))
		cs, err := s.ClaimDueCheckins(ctx, now, "s1", time.Minute, 10)
		if err != nil || len(cs) != 3 {
			t.Fatalf("claimed %d, %v", len(cs), err)
		}
		for _, x := range cs {
			wantAway := x.UserID == away
			if (x.AwayUntil != nil) != wantAway || (wantAway && x.AwayUntil.Format(time.DateOnly) != until.Format(time.DateOnly)) {
				t.Errorf("check-in of %s: away until %v", x.UserID, x.AwayUntil)
			}
		}
		// c's claim moved on to another sender: s1's DM of it is not
		// recorded, and c is returned as lost.
		mustExec(t, s, `UPDATE checkins SET claimed_by = 's2' WHERE id = $1`, c.ID)
		lost, err := s.MarkCheckinsSent(ctx, []okr.SentDM{{CheckinID: a.ID, Channel: "D1", TS: "1.1"}, {CheckinID: b.ID, Channel: "D2", TS: "2.2"}, {CheckinID: c.ID, Channel: "D1", TS: "1.3"}}, "s1", now)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(lost, []int64{c.ID}) {
			t.Errorf("lost %v, want [%d]", lost, c.ID)
		}
		for _, x := range []okr.Checkin{a, b} {
			got := mustCheckin(t, s, x.ID)
			if got.State != okr.Sent || got.DMTS == "" || got.ClaimedBy != "" || got.SentAt == nil || !got.SentAt.Equal(now) {
				t.Errorf("check-in %d: %+v, want sent", x.ID, got)
			}
		}
		if got := mustCheckin(t, s, c.ID); got.State != okr.Sending || got.DMTS != "" {
			t.Errorf("the other sender's check-in: %+v", got)
		}
	})

	t.Run("an expired claim renewed only if nobody took it", func(t *testing.T) {
		f := mustCreateCheckin(t, s, team.ID, unique("U"), now.Add(-time.Hour))
		cs, err := s.ClaimDueCheckins(ctx, now, "s4", time.Minute, 10)
		if err != nil || len(cs) != 1 || cs[0].ID != f.ID {
			t.Fatalf("claimed %+v, %v", cs, err)
		}
		later := now.Add(5 * time.Minute) // the claim is long expired
		if ok, err := s.RenewClaim(ctx, f.ID, "s4", later); err != nil || !ok {
			t.Fatalf("renew an expired claim nobody took: %v, %v", ok, err)
		}
		if got := mustCheckin(t, s, f.ID); !got.ClaimedUntil.Equal(later) {
			t.Errorf("claimed until %v, want %v", got.ClaimedUntil, later)
		}
		taken, err := s.ClaimDueCheckins(ctx, later.Add(time.Second), "s5", time.Minute, 10)
		if err != nil || !slices.Contains(checkinIDs(taken), f.ID) {
			t.Fatalf("taken over: %v, %v; want %d among them", checkinIDs(taken), err, f.ID)
		}
		if ok, err := s.RenewClaim(ctx, f.ID, "s4", later.Add(time.Hour)); err != nil || ok {
			t.Errorf("renewed a claim another sender took over: %v, %v", ok, err)
		}
	})

	t.Run("given back untried", func(t *testing.T) {
		d := mustCreateCheckin(t, s, team.ID, nobody, now.Add(-time.Hour))
		e := mustCreateCheckin(t, s, other.ID, nobody, now.Add(-time.Hour))
		cs, err := s.ClaimDueCheckins(ctx, now, "s3", time.Minute, 10)
		if err != nil || len(cs) != 2 {
			t.Fatalf("claimed %d, %v", len(cs), err)
		}
		if err := s.StartSending(ctx, []int64{e.ID}, "s3"); err != nil {
			t.Fatal(err)
		}
		if err := s.UnclaimCheckins(ctx, []int64{d.ID, e.ID}, "s3"); err != nil {
			t.Fatal(err)
		}
		if got := mustCheckin(t, s, d.ID); got.State != okr.Scheduled || got.Attempts != 0 || got.ClaimedBy != "" || got.ClaimedUntil != nil {
			t.Errorf("untried check-in given back: %+v, want scheduled as never claimed", got)
		}
		if got := mustCheckin(t, s, e.ID); got.State != okr.Sending || got.Attempts != 1 || got.ClaimedBy != "s3" {
			t.Errorf("a check-in being sent was given back: %+v", got)
		}
	})

	t.Run("a round's given back check-ins are not claimed again", func(t *testing.T) {
		g := mustCreateCheckin(t, s, other.ID, unique("U"), now.Add(-time.Minute))
		h := mustCreateCheckin(t, s, other.ID, unique("U"), now.Add(-time.Minute))
		cs, err := s.ClaimDueCheckins(ctx, now, "s6", time.Minute, 10, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := checkinIDs(cs)
		if slices.Contains(ids, g.ID) || !slices.Contains(ids, h.ID) {
			t.Errorf("claimed %v: want %d, not %d", ids, h.ID, g.ID)
		}
	})
}
