package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// The end-to-end tests of weekly check-ins run in parallel, each with its
// own emulator, database and clock. Each runs okrbot on a fake clock that
// starts on a Sunday evening of 2027-Q1 (sunday) and is moved to each moment
// that matters (half a minute past it, see advance); a move waits for the
// scheduler to be idle and for the check-in round at the new time to
// finish, so what the round sent is there to be seen, with no sleeps. The
// team's default schedule is Monday 10:00 in each person's time zone: Tokyo
// (chen) at 01:00 UTC, Berlin (alice) at 09:00 UTC and New York (bob) at
// 15:00 UTC, with a reminder 24 h later.

// sunday is 20:00 UTC on Sunday, January 3, 2027: Monday 05:00 in Tokyo,
// Sunday evening in Berlin and afternoon in New York.
var sunday = jan(3, 20, 0)

// jan returns a moment of January 2027 in UTC.
func jan(day, hour, minute int) time.Time {
	return time.Date(2027, time.January, day, hour, minute, 0, 0, time.UTC)
}

// clockHarness is the harness on a fake clock. It can stop okrbot and start
// a new one on the same database and emulator, as after downtime.
type clockHarness struct {
	*harness
	clock *clockwork.FakeClock
	dbURL string
	stop  func()
	// syncs tells when runs of the users sync finish (a rounds fed with
	// the sync's runs rather than the check-in rounds).
	syncs *rounds
	// fyStart is FISCAL_YEAR_START_MONTH; January when empty.
	fyStart string
}

// mustStartAt runs okrbot against a new emulator with the demo workspace, a
// fresh database and a fake clock set to start.
func mustStartAt(tb testing.TB, start time.Time) *clockHarness {
	tb.Helper()
	return mustStartAtFY(tb, start, "1")
}

// mustStartAtFY is mustStartAt with a fiscal year starting in month fy.
func mustStartAtFY(tb testing.TB, start time.Time, fy string) *clockHarness {
	tb.Helper()
	clock := clockwork.NewFakeClockAt(start)
	emu := slackemu.New(slackemu.Options{Now: clock.Now})
	tb.Cleanup(emu.Close)
	demoWorkspace(emu)
	h := &clockHarness{
		harness: &harness{emu: emu, p: &player{emu: emu, clock: clock}, logs: &lockedBuffer{}},
		clock:   clock,
		dbURL:   pgtest.FreshDatabase(tb),
		fyStart: fy,
	}
	h.start(tb)
	return h
}

// start runs a new okrbot on the harness's database, emulator and clock, and
// waits until its sockets are connected and the check-in round and users
// sync it runs at start-up are done.
func (h *clockHarness) start(tb testing.TB) {
	tb.Helper()
	cfg := Config{
		SlackBotToken: h.emu.BotToken(), SlackAppToken: h.emu.AppToken(), SlackAPIURL: h.emu.APIURL(),
		DatabaseURL: h.dbURL, HTTPAddr: "127.0.0.1:0",
		LogLevel: "debug", DefaultTimezone: "UTC", FiscalYearStartMonth: h.fyStart,
	}
	if err := cfg.Validate(needSlack | needDatabase); err != nil {
		tb.Fatalf("config: %v", err)
	}
	m := NewMain(cfg, slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m.Clock = h.clock
	r, syncs := newRounds(), newRoundsOf("sync-users")
	m.JobDone = func(job string, started time.Time) {
		r.JobDone(job, started)
		if job == "sync-users" {
			syncs.JobDone(job, started)
		}
	}
	run := runMain(tb, m, nil)
	run.waitReady(tb)
	stop := run.stop
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := h.emu.WaitConnections(wctx, cfg.conns); err != nil {
		tb.Fatalf("okrbot did not connect: %v", err)
	}
	if err := r.waitRound(wctx, h.clock.Now()); err != nil {
		tb.Fatalf("the check-in round at start-up: %v", err)
	}
	if err := syncs.waitRound(wctx, h.clock.Now()); err != nil {
		tb.Fatalf("the users sync at start-up: %v", err)
	}
	h.main, h.p.rounds, h.stop, h.syncs = m, r, stop, syncs
}

// down stops okrbot and waits until its sockets are closed.
func (h *clockHarness) down(tb testing.TB) {
	tb.Helper()
	h.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.emu.WaitConnections(ctx, 0); err != nil {
		tb.Fatalf("sockets still open after shutdown: %d", h.emu.Connections())
	}
}

// advance moves the clock to half a minute past t, once the scheduler waits
// on its timers, and waits for the check-in round that runs then. Half a
// minute past, not t itself: gocron reschedules a cron job that a jump of
// the clock left behind to the first minute not before now, and a jump to
// exactly a whole minute makes that now itself, so a second round would run
// straight after the first and could still be running when the clock moves
// on (its next round is then skipped). What is due at t is sent by the
// round at t+30s; nothing in these tests is due in between.
func (h *clockHarness) advance(tb testing.TB, t time.Time) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.clock.BlockUntilContext(ctx, schedulerTimers)
	if err == nil {
		h.clock.Advance(t.Add(30 * time.Second).Sub(h.clock.Now()))
		err = h.p.rounds.waitRound(ctx, t)
	}
	if err != nil {
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, `"job"`) || strings.Contains(l, `"level":"ERROR"`) {
				tb.Log(l)
			}
		}
		tb.Fatalf("advancing to %s: %v", t.Format(time.RFC3339), err)
	}
}

// nextRound returns a channel closed when the next check-in round finishes,
// for a round run on demand (/okr checkin send): advance may only move the
// clock once it is over, or the scheduled round it runs into is skipped.
func (h *clockHarness) nextRound() <-chan struct{} {
	r := h.p.rounds
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// okrs is what withOKRs created.
type okrs struct {
	objective int64
	alice     []int64 // 12 → 4 h, 82% → 90% and a milestone
	bob       int64   // a milestone
	chen      int64   // 340 → 100 tickets
}

// withOKRs creates the Platform team (alice leads, bob and chen are members)
// and an objective of the clock's quarter with three key results of alice's,
// one of bob's and one of chen's. dana is in no team.
func (h *clockHarness) withOKRs(tb testing.TB) okrs {
	tb.Helper()
	h.withTeam(tb)
	ctx := context.Background()
	view := h.newObjectiveModal(tb, alice, 3)
	before := h.p.seen(alice, demoChannel)
	if errs := h.submitErrors(tb, alice, view, goodObjective()); errs != nil {
		tb.Fatalf("objective refused: %v", errs)
	}
	if _, err := h.p.nextMessage(ctx, alice, demoChannel, before); err != nil {
		tb.Fatal(err)
	}
	q := okr.QuarterOf(h.clock.Now(), 1).Label()
	objs, err := h.main.Store.ObjectivesByOwner(ctx, alice, q)
	if err != nil || len(objs) != 1 {
		tb.Fatalf("alice's objectives of %s: got %v, %v, want one", q, objs, err)
	}
	o := okrs{objective: objs[0].ID}
	for _, kr := range objs[0].KeyResults {
		o.alice = append(o.alice, kr.ID)
	}
	o.chen = h.addKR(tb, o.objective, values{"title": "Cut the backlog", "owner": slackemu.UserSelect(chen), "start": "340", "target": "100", "unit": "tickets"})
	o.bob = h.addKR(tb, o.objective, values{"title": "Publish the runbook", "owner": slackemu.UserSelect(bob)})
	return o
}

// addKR adds a key result to an objective with alice's /okr kr add and
// returns its id.
func (h *clockHarness) addKR(tb testing.TB, objective int64, v values) int64 {
	tb.Helper()
	ctx := context.Background()
	view := h.openModal(tb, alice, "kr add")
	v["objective"] = slackemu.Option{Value: itoa(objective)}
	before := h.p.seen(alice, demoChannel)
	if errs := h.submitErrors(tb, alice, view, v); errs != nil {
		tb.Fatalf("key result refused: %v", errs)
	}
	if _, err := h.p.nextMessage(ctx, alice, demoChannel, before); err != nil {
		tb.Fatal(err)
	}
	o, err := h.main.Store.Objective(ctx, objective)
	if err != nil {
		tb.Fatal(err)
	}
	return o.KeyResults[len(o.KeyResults)-1].ID
}

// checkinDMs returns the check-in DMs a person got, in their latest state:
// not reminders, confirmations or errors.
func (h *clockHarness) checkinDMs(user string) []slackemu.Message {
	var out []slackemu.Message
	for _, m := range h.emu.DM(user) {
		if bytes.Contains(m.Metadata, []byte(`"okrbot_checkin"`)) {
			out = append(out, m)
		}
	}
	return out
}

// wantCheckinDMs fails unless every person of the workspace got exactly the
// number of check-in DMs want gives (none when absent).
func (h *clockHarness) wantCheckinDMs(tb testing.TB, want map[string]int) {
	tb.Helper()
	for _, u := range []string{alice, bob, chen, dana} {
		if got := len(h.checkinDMs(u)); got != want[u] {
			tb.Errorf("at %s: %s got %d check-in DMs, want %d", h.clock.Now().Format(time.RFC3339), u, got, want[u])
		}
	}
}

// onlyCheckinDM returns a person's one check-in DM.
func (h *clockHarness) onlyCheckinDM(tb testing.TB, user string) slackemu.Message {
	tb.Helper()
	dms := h.checkinDMs(user)
	if len(dms) != 1 {
		tb.Fatalf("%s got %d check-in DMs, want 1", user, len(dms))
	}
	return dms[0]
}

// checkinRow is a check-in as the database holds it.
type checkinRow struct {
	ID        int64     `db:"id"`
	CycleDate time.Time `db:"cycle_start"`
	DueAt     time.Time `db:"due_at"`
	State     string    `db:"state"`
	Reason    string    `db:"reason"`
	Reminders int       `db:"reminders_sent"`
	Attempts  int       `db:"attempts"`
	DMTS      string    `db:"dm_ts"`
	Blockers  string    `db:"blockers"`
}

// checkins returns a person's check-ins, oldest due first.
func (h *clockHarness) checkins(tb testing.TB, user string) []checkinRow {
	tb.Helper()
	var cs []checkinRow
	err := h.main.Store.DB().SelectContext(context.Background(), &cs, `
		SELECT id, cycle_start, due_at, state, reason, reminders_sent, attempts, dm_ts, blockers
		FROM checkins
		WHERE user_id = $1
		ORDER BY due_at, id`, user)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// lastCheckin returns a person's latest check-in.
func (h *clockHarness) lastCheckin(tb testing.TB, user string) checkinRow {
	tb.Helper()
	cs := h.checkins(tb, user)
	if len(cs) == 0 {
		tb.Fatalf("%s has no check-in", user)
	}
	return cs[len(cs)-1]
}

// krUpdateRow is a kr_updates row.
type krUpdateRow struct {
	KR         int64   `db:"key_result_id"`
	Value      float64 `db:"value"`
	Confidence int     `db:"confidence"`
	Comment    string  `db:"comment"`
	Checkin    *int64  `db:"checkin_id"`
}

// krUpdates returns the key result updates a person made, in order.
func (h *clockHarness) krUpdates(tb testing.TB, user string) []krUpdateRow {
	tb.Helper()
	var us []krUpdateRow
	err := h.main.Store.DB().SelectContext(context.Background(), &us, `
		SELECT key_result_id, value, confidence, comment, checkin_id
		FROM kr_updates
		WHERE user_id = $1
		ORDER BY id`, user)
	if err != nil {
		tb.Fatal(err)
	}
	return us
}

// viewAck is what a view submission was answered.
type viewAck struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
	View           json.RawMessage   `json:"view"`
}

// submitForm submits a modal with the values of a form and returns the ack.
func (h *clockHarness) submitForm(tb testing.TB, user string, view slackemu.View, form map[string]map[string]any) viewAck {
	tb.Helper()
	ack, err := h.emu.SubmitView(context.Background(), user, view.ID, form)
	if err != nil {
		tb.Fatal(err)
	}
	return decodeViewAck(tb, ack)
}

func decodeViewAck(tb testing.TB, ack slackemu.Ack) viewAck {
	tb.Helper()
	var a viewAck
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &a); err != nil {
			tb.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
	}
	return a
}

// openCheckin clicks Check in on a person's check-in DM and returns the modal.
func (h *clockHarness) openCheckin(tb testing.TB, user string, dm slackemu.Message) slackemu.View {
	tb.Helper()
	v, err := h.p.clickForModal(context.Background(), user, dm, "checkin_open")
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// fill answers every key result of a check-in modal: metric values from
// value (by key result id; others keep theirs), milestones done, confidence
// 8, and a comment on each.
func fill(tb testing.TB, view slackemu.View, value map[int64]string) map[string]map[string]any {
	tb.Helper()
	form, err := checkinAnswers(view.JSON, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for id := range form {
		var kr int64
		if _, err := fmt.Sscanf(id, "kr_%d_", &kr); err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(id, "_value"):
			if v, ok := value[kr]; ok {
				form[id] = map[string]any{id: v}
			}
		case strings.HasSuffix(id, "_conf"):
			form[id] = map[string]any{id: slackemu.Option{Value: "8"}}
			c := krInputID(kr, "comment")
			form[c] = map[string]any{c: fmt.Sprintf("Comment on %d.", kr)}
		}
	}
	return form
}

func krInputID(kr int64, name string) string { return fmt.Sprintf("kr_%d_%s", kr, name) }

// valueInputs returns the block ids of a view's key result value inputs.
func valueInputs(tb testing.TB, view []byte) []string {
	tb.Helper()
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Type    string `json:"type"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, b := range v.Blocks {
		if b.Type == "input" && strings.HasPrefix(b.BlockID, "kr_") && strings.HasSuffix(b.BlockID, "_value") {
			ids = append(ids, b.BlockID)
		}
	}
	return ids
}

// blockCount returns how many blocks a view has.
func blockCount(tb testing.TB, view []byte) int {
	tb.Helper()
	var v struct {
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		tb.Fatal(err)
	}
	return len(v.Blocks)
}

// waitFor waits until cond holds, failing after 10 s.
func (h *clockHarness) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(ctx, cond); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// waitDMSays waits until a person's DM ts says text.
func (h *clockHarness) waitDMSays(tb testing.TB, user, ts, text string) slackemu.Message {
	tb.Helper()
	var got slackemu.Message
	h.waitFor(tb, fmt.Sprintf("%s's DM %s never said %q", user, ts, text), func() bool {
		for _, m := range h.emu.DM(user) {
			if m.TS == ts {
				got = m
				return strings.Contains(m.Text, text)
			}
		}
		return false
	})
	return got
}

func TestCheckinDMsAtLocalTime(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	steps := []struct {
		at   time.Time
		want map[string]int
	}{
		{jan(4, 0, 59), nil},
		{jan(4, 1, 0), map[string]int{chen: 1}},
		{jan(4, 8, 59), map[string]int{chen: 1}},
		{jan(4, 9, 0), map[string]int{chen: 1, alice: 1}},
		{jan(4, 14, 59), map[string]int{chen: 1, alice: 1}},
		{jan(4, 15, 0), map[string]int{chen: 1, alice: 1, bob: 1}},
		{jan(4, 23, 0), map[string]int{chen: 1, alice: 1, bob: 1}},
	}
	for _, s := range steps {
		h.advance(t, s.at)
		h.wantCheckinDMs(t, s.want)
	}
	for _, tt := range []struct {
		user, due, closes string
	}{
		{chen, "2027-01-04T01:00:00Z", "Answer by Mon, Jan 11 at 10:00 (JST)"},
		{alice, "2027-01-04T09:00:00Z", "Answer by Mon, Jan 11 at 10:00 (CET)"},
		{bob, "2027-01-04T15:00:00Z", "Answer by Mon, Jan 11 at 10:00 (EST)"},
	} {
		c := h.lastCheckin(t, tt.user)
		if got := c.DueAt.UTC().Format(time.RFC3339); got != tt.due {
			t.Errorf("%s: got due %s, want %s", tt.user, got, tt.due)
		}
		if c.State != "sent" || c.Attempts != 1 {
			t.Errorf("%s: got state %s after %d attempts, want sent after 1", tt.user, c.State, c.Attempts)
		}
		dm := h.onlyCheckinDM(t, tt.user)
		mustContain(t, slackemu.RenderBlocks(dm.Blocks), "Weekly check-in · Platform", tt.closes, "[Check in]", "[Skip this week]")
	}
}

func TestCheckinDSTWeek(t *testing.T) {
	t.Parallel()
	// Berlin moves to summer time on Sunday, March 28, 2027: 10:00 is
	// 09:00 UTC on the 22nd and 08:00 UTC on the 29th.
	at := func(day, hour, minute int) time.Time {
		return time.Date(2027, time.March, day, hour, minute, 0, 0, time.UTC)
	}
	h := mustStartAt(t, at(21, 12, 0))
	h.withTeam(t)
	view := h.newObjectiveModal(t, alice, 3) // the period is 2027-Q1 by default
	if errs := h.submitErrors(t, alice, view, goodObjective()); errs != nil {
		t.Fatal(errs)
	}

	for _, s := range []struct {
		at   time.Time
		want int
	}{
		{at(22, 8, 59), 0},
		{at(22, 9, 0), 1},
		{at(29, 7, 59), 1},
		{at(29, 8, 0), 2},
	} {
		h.advance(t, s.at)
		h.wantCheckinDMs(t, map[string]int{alice: s.want})
	}
	cs := h.checkins(t, alice)
	if len(cs) != 2 {
		t.Fatalf("got %d check-ins, want 2", len(cs))
	}
	for i, want := range []struct{ date, due string }{
		{"2027-03-22", "2027-03-22T09:00:00Z"},
		{"2027-03-29", "2027-03-29T08:00:00Z"},
	} {
		if got := cs[i].CycleDate.Format(time.DateOnly); got != want.date {
			t.Errorf("check-in %d: got cycle %s, want %s", i, got, want.date)
		}
		if got := cs[i].DueAt.UTC().Format(time.RFC3339); got != want.due {
			t.Errorf("check-in %d: got due %s, want %s", i, got, want.due)
		}
	}
	mustContain(t, slackemu.RenderBlocks(h.checkinDMs(alice)[1].Blocks), "Answer by Mon, Apr 5 at 10:00 (CEST)")
}

func TestCheckinAway(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	ctx := context.Background()
	noAbsence := func(t *testing.T) {
		t.Helper()
		until, err := h.main.Store.AwayUntil(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		if until != nil {
			t.Errorf("got bob away until %s, want no absence stored", until.Format(time.DateOnly))
		}
	}

	for _, tt := range []struct {
		name, text, want string
	}{
		{"past date", "away until 2027-01-02", "Jan 2, 2027 has passed"},
		{"month 13", "away until 2027-13-01", "“2027-13-01” is not a date: write it as YYYY-MM-DD"},
		{"a word", "away until tomorrow", "“tomorrow” is not a date"},
		{"over a year", "away until 2028-01-05", "more than a year away"},
		{"without until", "away 2027-01-08", "Say until when"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustContain(t, h.slash(t, bob, tt.text), tt.want)
			noAbsence(t)
		})
	}

	t.Run("away gets no DM", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "away until 2027-01-08"), "You're away until Friday, Jan 8, 2027")
		h.advance(t, jan(4, 15, 0))
		h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1})
		if n := len(h.emu.DM(bob)); n != 0 {
			t.Errorf("got %d DMs to bob, want none", n)
		}
		c := h.lastCheckin(t, bob)
		if c.State != "away" || c.DMTS != "" {
			t.Errorf("got bob's check-in %s with DM %q, want away without a DM", c.State, c.DMTS)
		}
		// No reminder either, and it stays away when the week closes.
		h.advance(t, jan(5, 15, 0))
		h.advance(t, jan(11, 14, 59))
		if n := len(h.emu.DM(bob)); n != 0 {
			t.Errorf("got %d DMs to bob, want none", n)
		}
		if got := h.checkins(t, bob)[0].State; got != "away" {
			t.Errorf("got bob's check-in %s after the week, want away", got)
		}
	})

	t.Run("back", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "away until 2027-01-20"), "You're away until Wednesday, Jan 20, 2027")
		mustContain(t, h.slash(t, bob, "back"), "Welcome back")
		noAbsence(t)
		mustContain(t, h.slash(t, bob, "back"), "You weren't away")
		h.advance(t, jan(11, 15, 0))
		h.wantCheckinDMs(t, map[string]int{chen: 2, alice: 2, bob: 1})
		cs := h.checkins(t, bob)
		if len(cs) != 2 || cs[0].State != "away" || cs[1].State != "sent" {
			t.Errorf("got bob's check-ins %+v, want the first away and the second sent", cs)
		}
	})
}

func TestCheckinModal(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	o := h.withOKRs(t)
	ctx := context.Background()
	h.advance(t, jan(4, 9, 0))
	dm := h.onlyCheckinDM(t, alice)
	view := h.openCheckin(t, alice, dm)
	if view.CallbackID != "checkin" {
		t.Fatalf("got view %q, want checkin", view.CallbackID)
	}
	mustContain(t, string(view.JSON), "Weekly check-in", "Reduce first response time", "Raise CSAT", "Launch the help center")
	if strings.Contains(string(view.JSON), "Cut the backlog") {
		t.Errorf("alice's check-in shows chen's key result")
	}
	metric, pct, milestone := o.alice[0], o.alice[1], o.alice[2]
	good := map[int64]string{metric: "9.5", pct: "84%"}

	tests := []struct {
		name, field, text, want string
	}{
		{"value not a number", krInputID(metric, "value"), "about ten", `"about ten" is not a number`},
		{"value in words", krInputID(pct, "value"), "eighty percent", `"eighty percent" is not a number`},
		{"comment too long", krInputID(metric, "comment"), strings.Repeat("x", 3001), "Keep it to 3000 characters"},
		{"blockers too long", "blockers", strings.Repeat("y", 3001), "Keep it to 3000 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := fill(t, view, good)
			form[tt.field] = map[string]any{tt.field: tt.text}
			ack := h.submitForm(t, alice, view, form)
			if ack.ResponseAction != "errors" {
				t.Fatalf("got response_action %q, want errors", ack.ResponseAction)
			}
			mustContain(t, ack.Errors[tt.field], tt.want)
		})
	}
	// A confidence outside 1–10 or none cannot be sent: the select offers
	// only 1–10 and is required, which the emulator enforces as Slack does.
	if _, err := h.emu.SubmitView(ctx, alice, view.ID, map[string]map[string]any{krInputID(metric, "conf"): {krInputID(metric, "conf"): slackemu.Option{Value: "11"}}}); err == nil {
		t.Error("the emulator sent a confidence of 11")
	}
	if n := len(h.krUpdates(t, alice)); n != 0 {
		t.Fatalf("got %d KR updates after refused forms, want 0", n)
	}
	if c := h.lastCheckin(t, alice); c.State != "sent" {
		t.Fatalf("got check-in %s after refused forms, want sent", c.State)
	}

	t.Run("valid", func(t *testing.T) {
		updates := h.emu.Calls("chat.update")
		form := fill(t, view, good)
		form["blockers"] = map[string]any{"blockers": "Waiting on procurement."}
		if ack := h.submitForm(t, alice, view, form); ack.ResponseAction != "clear" {
			t.Fatalf("got response_action %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
		}
		if n := len(h.emu.OpenViews(alice)); n != 0 {
			t.Errorf("got %d open modals, want 0", n)
		}
		got := h.waitDMSays(t, alice, dm.TS, "Thanks! 3 key results updated")
		if !got.Edited {
			t.Error("the DM was not updated in place")
		}
		if n := len(h.emu.DM(alice)); n != 1 {
			t.Errorf("got %d DMs to alice, want the one check-in DM", n)
		}
		if n := h.emu.Calls("chat.update"); n != updates+1 {
			t.Errorf("got %d chat.update calls, want %d", n, updates+1)
		}
		rendered := slackemu.RenderBlocks(got.Blocks)
		if strings.Contains(rendered, "[Check in]") || strings.Contains(rendered, "[Skip this week]") {
			t.Errorf("the answered DM still has buttons: %s", rendered)
		}

		obj, err := h.main.Store.Objective(ctx, o.objective)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]float64{metric: 9.5, pct: 84, milestone: 1}
		for _, kr := range obj.KeyResults {
			w, mine := want[kr.ID]
			if !mine {
				continue
			}
			if kr.Current != w || kr.Confidence != 8 {
				t.Errorf("%s: got %v with confidence %d, want %v with confidence 8", kr.Title, kr.Current, kr.Confidence, w)
			}
		}
		c := h.lastCheckin(t, alice)
		if c.State != "answered" || c.Blockers != "Waiting on procurement." {
			t.Errorf("got check-in %s with blockers %q, want answered with the blockers", c.State, c.Blockers)
		}
		us := h.krUpdates(t, alice)
		if len(us) != 3 {
			t.Fatalf("got %d KR updates, want 3", len(us))
		}
		for _, u := range us {
			if u.Checkin == nil || *u.Checkin != c.ID {
				t.Errorf("KR %d: got check-in %v, want %d", u.KR, u.Checkin, c.ID)
			}
			if u.Value != want[u.KR] || u.Confidence != 8 || u.Comment != fmt.Sprintf("Comment on %d.", u.KR) {
				t.Errorf("KR %d: got %+v, want value %v, confidence 8 and its comment", u.KR, u, want[u.KR])
			}
		}
	})
}

func TestCheckinDoubleSubmission(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	o := h.withOKRs(t)
	ctx := context.Background()
	h.advance(t, jan(4, 1, 0))
	c := h.lastCheckin(t, chen)
	dm := h.onlyCheckinDM(t, chen)
	view := h.openCheckin(t, chen, dm)

	// The emulator keeps one modal stack per person (opening another
	// closes the first), so the modal is submitted twice at once, as from
	// two devices. A lock on the check-in row holds both submissions in
	// RecordCheckin until both have read the check-in as still open.
	db := h.main.Store.DB()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT id FROM checkins WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
		t.Fatal(err)
	}
	acks := make([]slackemu.Ack, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, v := range []string{"300", "250"} {
		form := fill(t, view, map[int64]string{o.chen: v})
		wg.Go(func() { acks[i], errs[i] = h.emu.SubmitView(ctx, chen, view.ID, form) })
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting int
		if err := db.GetContext(ctx, &waiting, `
			SELECT count(*)
			FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("got %d submissions waiting for the check-in, want 2", waiting)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	var cleared, refused int
	for i := range acks {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		a := decodeViewAck(t, acks[i])
		switch {
		case a.ResponseAction == "clear":
			cleared++
		case a.ResponseAction == "update" && strings.Contains(string(a.View), "already recorded; nothing was changed"):
			refused++
		default:
			t.Errorf("got ack %s, want clear or already recorded", acks[i].Payload)
		}
	}
	if cleared != 1 || refused != 1 {
		t.Errorf("got %d recorded and %d refused, want 1 and 1", cleared, refused)
	}
	us := h.krUpdates(t, chen)
	if len(us) != 1 {
		t.Fatalf("got %d KR updates, want 1", len(us))
	}
	kr, err := h.main.Store.Objective(ctx, o.objective)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kr.KeyResults {
		if k.ID == o.chen && k.Current != us[0].Value {
			t.Errorf("got the key result at %v, want the recorded %v", k.Current, us[0].Value)
		}
	}
	if got := h.lastCheckin(t, chen).State; got != "answered" {
		t.Errorf("got check-in %s, want answered", got)
	}
	h.waitDMSays(t, chen, dm.TS, "Thanks! 1 key result updated")
}

func TestCheckinSkipReminderMiss(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	ctx := context.Background()
	for _, at := range []time.Time{jan(4, 1, 0), jan(4, 9, 0), jan(4, 15, 0)} {
		h.advance(t, at)
	}
	h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1, bob: 1})

	t.Run("reminder after 24 h, once", func(t *testing.T) {
		for _, s := range []struct {
			at         time.Time
			chen, bob  int // DMs of any kind
			remindBob  int
			remindChen int
		}{
			{jan(5, 0, 59), 1, 1, 0, 0},
			{jan(5, 1, 0), 2, 1, 0, 1},
			{jan(5, 14, 59), 2, 1, 0, 1},
			{jan(5, 15, 0), 2, 2, 1, 1},
			{jan(6, 15, 0), 2, 2, 1, 1},
			{jan(10, 23, 0), 2, 2, 1, 1},
		} {
			h.advance(t, s.at)
			if got := len(h.emu.DM(chen)); got != s.chen {
				t.Errorf("at %s: got %d DMs to chen, want %d", s.at.Format(time.RFC3339), got, s.chen)
			}
			if got := len(h.emu.DM(bob)); got != s.bob {
				t.Errorf("at %s: got %d DMs to bob, want %d", s.at.Format(time.RFC3339), got, s.bob)
			}
			if got := h.lastCheckin(t, bob).Reminders; got != s.remindBob {
				t.Errorf("at %s: got %d reminders to bob, want %d", s.at.Format(time.RFC3339), got, s.remindBob)
			}
			if got := h.lastCheckin(t, chen).Reminders; got != s.remindChen {
				t.Errorf("at %s: got %d reminders to chen, want %d", s.at.Format(time.RFC3339), got, s.remindChen)
			}
		}
		mustContain(t, h.emu.DM(bob)[1].Text, "A nudge: your *Platform* check-in is still open", "Jan 11 at 10:00 (EST)")
	})

	t.Run("skip", func(t *testing.T) {
		dm := h.onlyCheckinDM(t, chen)
		if _, err := h.emu.ClickButton(ctx, chen, dm.Ref(), "checkin_skip"); err != nil {
			t.Fatal(err)
		}
		got := h.waitDMSays(t, chen, dm.TS, "You skipped the *Platform* check-in of the week of Jan 4")
		if strings.Contains(slackemu.RenderBlocks(got.Blocks), "[Check in]") {
			t.Error("the skipped DM still has its buttons")
		}
		if c := h.lastCheckin(t, chen); c.State != "skipped" {
			t.Errorf("got check-in %s, want skipped", c.State)
		}
		// The reminder's button still opens the check-in: it says it is
		// skipped already, and opens nothing.
		reminder := h.emu.DM(chen)[1]
		before := len(h.emu.Ephemerals(chen))
		if _, err := h.emu.ClickButton(ctx, chen, reminder.Ref(), "checkin_open"); err != nil {
			t.Fatal(err)
		}
		h.waitFor(t, "no answer to the click", func() bool { return len(h.emu.Ephemerals(chen)) > before })
		mustContain(t, h.emu.Ephemerals(chen)[before].Text, "This check-in is skipped already")
		if n := len(h.emu.OpenViews(chen)); n != 0 {
			t.Errorf("got %d modals, want none", n)
		}
	})

	t.Run("missed when the cycle closes", func(t *testing.T) {
		h.advance(t, jan(11, 14, 59))
		if got := h.lastCheckin(t, bob).State; got != "sent" {
			t.Errorf("a minute before the close: got %s, want sent", got)
		}
		h.advance(t, jan(11, 15, 0))
		cs := h.checkins(t, bob)
		if len(cs) != 2 || cs[0].State != "missed" {
			t.Fatalf("got bob's check-ins %+v, want the first missed and a new one", cs)
		}
		first := h.checkinDMs(bob)[0]
		if !strings.Contains(first.Text, "closed without an answer") || strings.Contains(slackemu.RenderBlocks(first.Blocks), "[Check in]") {
			t.Errorf("got bob's first DM %q, want it closed without buttons", first.Text)
		}
		if got := h.checkins(t, chen)[0].State; got != "skipped" {
			t.Errorf("got chen's skipped check-in %s after the close, want skipped", got)
		}
		// No reminder for the closed one, and the new week's is sent.
		if got := len(h.emu.DM(bob)); got != 3 {
			t.Errorf("got %d DMs to bob, want 3 (check-in, reminder, next check-in)", got)
		}
	})
}

func TestCheckinCatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	h.advance(t, jan(4, 9, 0))
	h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1})
	posts := h.emu.Calls("chat.postMessage")

	// Down from 09:00 to 15:30 UTC: bob's 10:00 in New York passes.
	h.down(t)
	h.clock.Advance(jan(4, 15, 30).Sub(h.clock.Now()))
	h.start(t)
	h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1, bob: 1})
	if got := h.emu.Calls("chat.postMessage"); got != posts+1 {
		t.Errorf("got %d chat.postMessage calls after the restart, want %d", got, posts+1)
	}
	for _, at := range []time.Time{jan(4, 15, 31), jan(4, 18, 0)} {
		h.advance(t, at)
		h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1, bob: 1})
	}
	for _, u := range []string{alice, bob, chen} {
		if cs := h.checkins(t, u); len(cs) != 1 || cs[0].State != "sent" || cs[0].Attempts != 1 {
			t.Errorf("%s: got check-ins %+v, want one sent at the first attempt", u, cs)
		}
	}
	// The check-in sent after the restart works like any other.
	view := h.openCheckin(t, bob, h.onlyCheckinDM(t, bob))
	if ack := h.submitForm(t, bob, view, fill(t, view, nil)); ack.ResponseAction != "clear" {
		t.Fatalf("got %q, want clear", ack.ResponseAction)
	}
	if got := h.lastCheckin(t, bob).State; got != "answered" {
		t.Errorf("got %s, want answered", got)
	}
}

func TestCheckinUndeliverable(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	// chen is deactivated after the user sync at start-up: only Slack's
	// answer to the DM (user_disabled) tells. bob is deactivated long
	// before his 10:00, and the nightly sync at 02:07 UTC caches it.
	h.emu.SetUser(slackemu.User{ID: chen, Name: "chen", RealName: "Chen Wei", TZ: "Asia/Tokyo", Deleted: true})
	h.emu.SetUser(slackemu.User{ID: bob, Name: "bob", RealName: "Bob Osei", TZ: "America/New_York", Deleted: true})
	h.advance(t, jan(4, 1, 0))
	h.advance(t, jan(4, 2, 7))
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.syncs.waitRound(wctx, jan(4, 2, 7)); err != nil {
		t.Fatal(err)
	}
	h.advance(t, jan(4, 15, 0))
	h.wantCheckinDMs(t, map[string]int{alice: 1})

	for _, tt := range []struct{ user, reason string }{
		{chen, "deactivated (user_disabled)"},
		{bob, "deactivated"},
	} {
		c := h.lastCheckin(t, tt.user)
		if c.State != "undeliverable" || c.Reason != tt.reason || c.Attempts != 1 {
			t.Errorf("%s: got %s (%q) after %d attempts, want undeliverable (%q) after 1", tt.user, c.State, c.Reason, c.Attempts, tt.reason)
		}
	}
	// Later rounds try neither again: no DM, no attempt, no reminder.
	for _, at := range []time.Time{jan(4, 15, 1), jan(5, 15, 0), jan(10, 12, 0)} {
		h.advance(t, at)
		for _, u := range []string{chen, bob} {
			if n := len(h.emu.DM(u)); n != 0 {
				t.Errorf("at %s: got %d DMs to %s, want none", at.Format(time.RFC3339), n, u)
			}
			if cs := h.checkins(t, u); len(cs) != 1 || cs[0].State != "undeliverable" || cs[0].Attempts != 1 {
				t.Errorf("at %s: %s's check-ins: got %+v, want one undeliverable after 1 attempt", at.Format(time.RFC3339), u, cs)
			}
		}
	}
}

func TestCheckinPaging(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	ctx := context.Background()
	// A second objective, and key results up to 30 of alice's.
	view := h.newObjectiveModal(t, alice, 3)
	second := goodObjective()
	second["title"] = "Grow the community"
	if errs := h.submitErrors(t, alice, view, second); errs != nil {
		t.Fatal(errs)
	}
	objs, err := h.main.Store.ObjectivesByOwner(ctx, alice, okr.QuarterOf(h.clock.Now(), 1).Label())
	if err != nil || len(objs) != 2 {
		t.Fatalf("got %v, %v, want two objectives", objs, err)
	}
	for i := range 24 {
		kr := &okr.KeyResult{ObjectiveID: objs[1].ID, Title: fmt.Sprintf("Community metric %02d", i+1), OwnerID: alice,
			Kind: okr.Metric, Start: 0, Target: 100}
		if err := h.main.Store.CreateKeyResult(ctx, kr); err != nil {
			t.Fatal(err)
		}
	}
	mine, err := h.main.Store.OwnedKeyResults(ctx, alice, 0, h.clock.Now())
	if err != nil || len(mine) != 30 {
		t.Fatalf("got %d key results of alice's, %v, want 30", len(mine), err)
	}
	value := map[int64]string{}
	for i, kr := range mine {
		if kr.Kind == okr.Metric {
			value[kr.ID] = fmt.Sprint(i + 5)
		}
	}

	h.advance(t, jan(4, 9, 0))
	dm := h.onlyCheckinDM(t, alice)
	view = h.openCheckin(t, alice, dm)
	if n := len(valueInputs(t, view.JSON)); n != 24 {
		t.Errorf("page 1: got %d key results, want 24", n)
	}
	if n := blockCount(t, view.JSON); n > 100 {
		t.Errorf("page 1: got %d blocks, want at most 100", n)
	}
	mustContain(t, string(view.JSON), "Page 1 of 2", `"text":"Next"`)

	ack := h.submitForm(t, alice, view, fill(t, view, value))
	if ack.ResponseAction != "update" {
		t.Fatalf("page 1: got response_action %q (errors %v), want update", ack.ResponseAction, ack.Errors)
	}
	if n := len(h.krUpdates(t, alice)); n != 0 {
		t.Errorf("after page 1: got %d KR updates, want none yet", n)
	}
	page2, ok := h.emu.ViewByID(view.ID)
	if !ok || page2.Closed {
		t.Fatal("the modal closed after page 1")
	}
	if n := len(valueInputs(t, page2.JSON)); n != 6 {
		t.Errorf("page 2: got %d key results, want 6", n)
	}
	mustContain(t, string(page2.JSON), "Page 2 of 2", `"text":"Submit"`, `"block_id":"blockers"`)

	if ack := h.submitForm(t, alice, page2, fill(t, page2, value)); ack.ResponseAction != "clear" {
		t.Fatalf("page 2: got response_action %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
	}
	c := h.lastCheckin(t, alice)
	if c.State != "answered" {
		t.Errorf("got check-in %s, want answered", c.State)
	}
	us := h.krUpdates(t, alice)
	if len(us) != 30 {
		t.Fatalf("got %d KR updates, want 30", len(us))
	}
	seen := map[int64]bool{}
	for _, u := range us {
		seen[u.KR] = true
		if u.Checkin == nil || *u.Checkin != c.ID {
			t.Errorf("KR %d: got check-in %v, want %d", u.KR, u.Checkin, c.ID)
		}
		if want, ok := value[u.KR]; ok && fmt.Sprint(u.Value) != want {
			t.Errorf("KR %d: got %v, want %s", u.KR, u.Value, want)
		}
	}
	if len(seen) != 30 {
		t.Errorf("got updates of %d key results, want 30", len(seen))
	}
	var drafts int
	if err := h.main.Store.DB().GetContext(ctx, &drafts, `SELECT count(*) FROM checkin_drafts`); err != nil || drafts != 0 {
		t.Errorf("got %d drafts left (%v), want none", drafts, err)
	}
	h.waitDMSays(t, alice, dm.TS, "Thanks! 30 key results updated")
	if strings.Contains(h.logs.String(), "invalid_blocks") {
		t.Error("Slack refused a view or message as invalid_blocks")
	}
}

func TestCheckinCommand(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	o := h.withOKRs(t)
	ctx := context.Background()

	t.Run("nothing to check in on", func(t *testing.T) {
		mustContain(t, h.slash(t, dana, "checkin"), "You own no key results")
	})
	t.Run("off-cycle", func(t *testing.T) {
		view := h.openModal(t, alice, "checkin")
		mustContain(t, string(view.JSON), `"text":"Update my OKRs"`, "Reduce first response time", "Raise CSAT", "Launch the help center")
		if n := len(valueInputs(t, view.JSON)); n != 3 {
			t.Errorf("got %d key results, want alice's 3", n)
		}
		dms := len(h.emu.DM(alice))
		if ack := h.submitForm(t, alice, view, fill(t, view, map[int64]string{o.alice[0]: "10"})); ack.ResponseAction != "clear" {
			t.Fatalf("got %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
		}
		h.waitFor(t, "no confirmation DM", func() bool { return len(h.emu.DM(alice)) > dms })
		mustContain(t, h.emu.DM(alice)[dms].Text, "Thanks! 3 key results updated")
		us := h.krUpdates(t, alice)
		if len(us) != 3 {
			t.Fatalf("got %d KR updates, want 3", len(us))
		}
		for _, u := range us {
			if u.Checkin != nil {
				t.Errorf("KR %d: got check-in %d, want none (off-cycle)", u.KR, *u.Checkin)
			}
		}
		if cs := h.checkins(t, alice); len(cs) != 0 {
			t.Errorf("got %d check-ins, want none", len(cs))
		}
	})
	t.Run("with an open check-in", func(t *testing.T) {
		h.advance(t, jan(4, 9, 0))
		c := h.lastCheckin(t, alice)
		dm := h.onlyCheckinDM(t, alice)
		view := h.openModal(t, alice, "checkin")
		mustContain(t, string(view.JSON), `"text":"Weekly check-in"`)
		mustContain(t, view.PrivateMetadata, fmt.Sprintf(`"k":%d`, c.ID))
		if ack := h.submitForm(t, alice, view, fill(t, view, map[int64]string{o.alice[0]: "8"})); ack.ResponseAction != "clear" {
			t.Fatalf("got %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
		}
		h.waitDMSays(t, alice, dm.TS, "Thanks! 3 key results updated")
		if got := h.lastCheckin(t, alice).State; got != "answered" {
			t.Errorf("got check-in %s, want answered", got)
		}
		us := h.krUpdates(t, alice)
		if len(us) != 6 {
			t.Fatalf("got %d KR updates, want 6", len(us))
		}
		for _, u := range us[3:] {
			if u.Checkin == nil || *u.Checkin != c.ID {
				t.Errorf("KR %d: got check-in %v, want %d", u.KR, u.Checkin, c.ID)
			}
		}
		// Answered: /okr checkin is off-cycle again.
		view = h.openModal(t, alice, "checkin")
		mustContain(t, string(view.JSON), `"text":"Update my OKRs"`)
		if _, err := h.emu.CloseView(ctx, alice, view.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckinSendNow(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	// Monday noon UTC: chen (Tokyo) and alice (Berlin) were asked; it is
	// 07:00 in New York.
	h.advance(t, jan(4, 12, 0))
	h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1})

	t.Run("not a lead", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "checkin send"), "Only a lead of *Platform* can send the check-ins of it", "<@U0ALICE>")
		h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1})
	})
	t.Run("lead", func(t *testing.T) {
		round := h.nextRound()
		mustContain(t, h.slash(t, alice, "checkin send"), "Sending the *Platform* check-in to 1 person now", "2 people were already asked this cycle")
		select {
		case <-round:
		case <-time.After(10 * time.Second):
			t.Fatal("no check-in round ran after /okr checkin send")
		}
		h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1, bob: 1})
		c := h.lastCheckin(t, bob)
		if c.State != "sent" || c.CycleDate.Format(time.DateOnly) != "2027-01-04" {
			t.Errorf("got bob's check-in %s for the week of %s, want sent for 2027-01-04", c.State, c.CycleDate.Format(time.DateOnly))
		}
		mustContain(t, h.slash(t, alice, "checkin send"), "3 people were already asked this cycle")
	})
	t.Run("no second DM at 10:00", func(t *testing.T) {
		h.advance(t, jan(4, 15, 0))
		h.advance(t, jan(4, 16, 0))
		h.wantCheckinDMs(t, map[string]int{chen: 1, alice: 1, bob: 1})
		if cs := h.checkins(t, bob); len(cs) != 1 {
			t.Errorf("got %d check-ins of bob's, want 1", len(cs))
		}
	})
}

func TestCheckinSchedule(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	ctx := context.Background()

	t.Run("not a lead", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "schedule"), "Only a lead of *Platform* can change the schedule of it", "<@U0ALICE>")
		if n := len(h.emu.OpenViews(bob)); n != 0 {
			t.Errorf("got %d modals, want none", n)
		}
	})
	t.Run("lead saves Wednesday 09:30, reminder 4 h", func(t *testing.T) {
		view := h.openModal(t, alice, "schedule")
		if view.CallbackID != "schedule" {
			t.Fatalf("got view %q, want schedule", view.CallbackID)
		}
		before := h.p.seen(alice, demoChannel)
		ack := h.submitForm(t, alice, view, values{
			"checkin_day":  slackemu.Option{Value: "3"},
			"checkin_time": slackemu.Option{Value: "570"},
			"reminder":     slackemu.Option{Value: "4"},
		}.form())
		if ack.ResponseAction != "clear" {
			t.Fatalf("got %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
		}
		m, err := h.p.nextMessage(ctx, alice, demoChannel, before)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "Saved", "check-ins Wednesdays at 09:30", "a reminder after 4 h")
	})
	t.Run("the next DM follows it", func(t *testing.T) {
		h.advance(t, jan(4, 15, 0)) // Monday 10:00 everywhere has passed
		h.wantCheckinDMs(t, nil)
		for _, s := range []struct {
			at   time.Time
			want map[string]int
		}{
			{jan(6, 0, 29), nil},
			{jan(6, 0, 30), map[string]int{chen: 1}},
			{jan(6, 8, 29), map[string]int{chen: 1}},
			{jan(6, 8, 30), map[string]int{chen: 1, alice: 1}},
			{jan(6, 14, 30), map[string]int{chen: 1, alice: 1, bob: 1}},
		} {
			h.advance(t, s.at)
			h.wantCheckinDMs(t, s.want)
		}
		if got := h.lastCheckin(t, alice).DueAt.UTC().Format(time.RFC3339); got != "2027-01-06T08:30:00Z" {
			t.Errorf("got alice's check-in due %s, want 2027-01-06T08:30:00Z", got)
		}
	})
	t.Run("the reminder follows it", func(t *testing.T) {
		// The 14:30 round reminded chen (4 h after 00:30) and alice (4 h
		// after 08:30) already; bob's comes at 18:30.
		for _, s := range []struct {
			at   time.Time
			want int
		}{
			{jan(6, 18, 29), 1},
			{jan(6, 18, 30), 2},
			{jan(7, 18, 30), 2},
		} {
			h.advance(t, s.at)
			if got := len(h.emu.DM(bob)); got != s.want {
				t.Errorf("at %s: got %d DMs to bob, want %d", s.at.Format(time.RFC3339), got, s.want)
			}
		}
		for _, u := range []string{alice, chen} {
			if got := len(h.emu.DM(u)); got != 2 {
				t.Errorf("got %d DMs to %s, want check-in and reminder", got, u)
			}
		}
	})
}
