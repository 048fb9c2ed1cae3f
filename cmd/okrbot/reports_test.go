package main

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// The end-to-end tests of digests and quarterly summaries seed a quarter
// in Postgres (objectives, key result updates, KPI readings, check-ins at
// chosen times), then let the real bot build and post the reports through
// the emulator, on a fake clock.

// seededQuarter is what seedQuarter wrote.
type seededQuarter struct {
	period            okr.Period
	teamID            int64
	deploy, nps       int64 // key result ids
	boring, delight   int64 // objective ids
	canary, uptimeKPI int64
}

// seedQuarter creates the team Platform (alice lead, bob and chen members)
// through the bot, then writes a quarter's history in the store:
//
//   - "Make deploys boring" (committed, alice): deploy time 60 → 10 min
//     (bob; 40 in week 2, 10 in week 8) and the canary milestone (alice;
//     done in week 10): progress 1.0, score 1.0, green, met.
//   - "Delight users" (aspirational, chen): NPS 20 → 50, reported 32 in
//     week 6: progress 0.4, score 0.4, yellow, not a success, carried over.
//   - the KPI uptime (higher is better, warning 99 %, critical 98 %): 99.5
//     from the first day, 98.5 from the second month, 97 from the third.
//   - check-ins: 6 answered, 1 skipped, 2 missed, 1 away.
func seedQuarter(tb testing.TB, h *clockHarness, p okr.Period) seededQuarter {
	tb.Helper()
	ctx := context.Background()
	h.slash(tb, alice, "team create Platform")
	h.slash(tb, alice, "team add <@U0BOB|bob> <@U0CHEN|chen>")
	team, err := h.main.Store.TeamByChannel(ctx, demoChannel)
	if err != nil {
		tb.Fatal(err)
	}
	s := seededQuarter{period: p, teamID: team.ID}
	boring := okr.Objective{TeamID: team.ID, Title: "Make deploys boring", OwnerID: alice, Kind: okr.Committed, CreatedBy: alice,
		KeyResults: []okr.KeyResult{
			{Title: "Deploy time", OwnerID: bob, Kind: okr.Metric, Unit: "min", Start: 60, Target: 10, Current: 60},
			{Title: "Canary for every service", OwnerID: alice, Kind: okr.Milestone, Target: 1},
		}}
	delight := okr.Objective{TeamID: team.ID, Title: "Delight users", OwnerID: chen, Kind: okr.Aspirational, CreatedBy: chen,
		KeyResults: []okr.KeyResult{{Title: "NPS", OwnerID: chen, Kind: okr.Metric, Start: 20, Target: 50, Current: 20}}}
	for _, o := range []*okr.Objective{&boring, &delight} {
		if err := h.main.Store.CreateObjective(ctx, o, p); err != nil {
			tb.Fatal(err)
		}
	}
	s.boring, s.delight = boring.ID, delight.ID
	s.deploy, s.canary, s.nps = boring.KeyResults[0].ID, boring.KeyResults[1].ID, delight.KeyResults[0].ID

	db := sqlx.MustConnect("postgres", h.dbURL)
	defer db.Close()
	week := func(n int) time.Time { return p.Start.AddDate(0, 0, 7*n+2) }
	update := func(kr int64, v float64, conf int, who string, at time.Time) {
		db.MustExec(`INSERT INTO kr_updates (key_result_id, value, confidence, comment, user_id, created_at) VALUES ($1, $2, $3, '', $4, $5)`, kr, v, conf, who, at)
		db.MustExec(`UPDATE key_results SET current_value = $2, confidence = $3, updated_at = $4 WHERE id = $1`, kr, v, conf, at)
	}
	update(s.deploy, 40, 8, bob, week(2))
	update(s.nps, 32, 5, chen, week(6))
	update(s.deploy, 10, 9, bob, week(8))
	update(s.canary, 1, 9, alice, week(10))

	db.QueryRowx(`INSERT INTO kpis (team_id, name, owner_id, unit, direction, warning, critical, cadence)
		VALUES ($1, 'uptime', $2, '%', 'higher_is_better', 99, 98, 'weekly') RETURNING id`, team.ID, bob).Scan(&s.uptimeKPI)
	for _, r := range []struct {
		v  float64
		at time.Time
	}{{99.5, p.Start}, {98.5, p.Start.AddDate(0, 1, 0)}, {97, p.Start.AddDate(0, 2, 0)}} {
		db.MustExec(`INSERT INTO kpi_readings (kpi_id, value, read_at, user_id) VALUES ($1, $2, $3, $4)`, s.uptimeKPI, r.v, r.at, bob)
	}
	states := []string{"answered", "answered", "answered", "answered", "answered", "answered", "skipped", "missed", "missed", "away"}
	for i, st := range states {
		who := []string{alice, bob, chen}[i%3]
		cycle := p.Start.AddDate(0, 0, 7*(i/3))
		db.MustExec(`INSERT INTO checkins (team_id, user_id, cycle_start, due_at, state, answered_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			team.ID, who, cycle, cycle.Add(10*time.Hour), st, nullIf(st != "answered", cycle.Add(11*time.Hour)))
	}
	return s
}

func nullIf(null bool, t time.Time) *time.Time {
	if null {
		return nil
	}
	return &t
}

// channelReports returns the bot's messages in the team channel whose
// blocks start with prefix, rendered.
func channelReports(emu *slackemu.Server, prefix string) []string {
	var out []string
	for _, m := range emu.Messages(demoChannel) {
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue
		}
		if r := slackemu.RenderBlocks(m.Blocks); strings.HasPrefix(strings.TrimSpace(r), prefix) || strings.Contains(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// TestQuarterEndSummaryFiscalApril lets the scheduler post the summary of a
// quarter of a fiscal year that starts in April, on the quarter's last day
// at the team's digest time, once.
func TestQuarterEndSummaryFiscalApril(t *testing.T) {
	t.Parallel()
	// Sunday, June 27, 2027: Q1 of the fiscal year 2027 ends on Wednesday,
	// June 30; the team's digest time is 16:00 (UTC here).
	start := time.Date(2027, time.June, 27, 20, 0, 0, 0, time.UTC)
	h := mustStartAtFY(t, start, "4")
	p := okr.QuarterOf(start, time.April)
	if p.Label() != "2027-Q1" || !p.End.Equal(time.Date(2027, time.July, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("quarter of %s: %s %s", start, p.Label(), p.DateRange())
	}
	seedQuarter(t, h, p)

	h.advance(t, time.Date(2027, time.June, 30, 15, 58, 0, 0, time.UTC))
	if got := channelReports(h.emu, "Quarterly summary"); len(got) != 0 {
		t.Fatalf("a summary before the quarter's last digest time: %q", got)
	}
	h.advance(t, time.Date(2027, time.June, 30, 16, 0, 0, 0, time.UTC))
	got := channelReports(h.emu, "Quarterly summary")
	if len(got) != 1 {
		t.Fatalf("%d summaries at the quarter's end, want 1", len(got))
	}
	mustContain(t, got[0],
		"Quarterly summary · Platform · 2027-Q1",
		"Apr 1 – Jun 30, 2027",
		"🟢 *Make deploys boring* — score *1.0* · committed · *met* ✓",
		"• Deploy time: 60 min → 10 min (target 10 min) · 1.0",
		"• Canary for every service: done · 1.0",
		"🟡 *Delight users* — score *0.4* · aspirational · *not a success*",
		"• NPS: 20 → 32 (target 50) · 0.4",
		"*To carry over*", "• *Delight users* (0.4)", "/okr quarter carry 2027-Q1",
		"*uptime* — 🟢 33% · 🟡 34% · 🔴 33% of the time (3 readings)",
		"6 of 9 check-ins answered (67%)",
		"[image: Key result progress by week against the expected pace]",
	)
	files := h.emu.Files()
	if len(files) != 1 {
		t.Fatalf("%d files uploaded, want the chart", len(files))
	}
	img, err := png.Decode(bytes.NewReader(files[0].Content))
	if err != nil {
		t.Fatalf("the chart is no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 || len(files[0].Content) < 5<<10 || len(files[0].Content) > 1<<20 {
		t.Errorf("the chart is %dx%d px, %d bytes", b.Dx(), b.Dy(), len(files[0].Content))
	}
	if files[0].Channel != "" {
		t.Errorf("the chart was shared in %s as well as shown in the summary", files[0].Channel)
	}

	// Later rounds, and the next days, post it no more.
	h.advance(t, time.Date(2027, time.June, 30, 16, 5, 0, 0, time.UTC))
	h.advance(t, time.Date(2027, time.July, 1, 16, 0, 0, 0, time.UTC))
	if got := channelReports(h.emu, "Quarterly summary"); len(got) != 1 {
		t.Fatalf("%d summaries a day later, want 1", len(got))
	}
}

// TestQuarterCloseAndCarry closes a quarter and carries its unfinished
// aspirational objective over, as a lead, once; a member is refused.
func TestQuarterCloseAndCarry(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, time.March, 28, 20, 0, 0, 0, time.UTC)
	h := mustStartAt(t, start)
	p := okr.QuarterOf(start, time.January)
	s := seedQuarter(t, h, p)

	mustContain(t, h.slash(t, dana, "summary"), "Only members of *Platform* can post its reports", "<@U0ALICE>")
	mustContain(t, h.slash(t, bob, "quarter close"), "Only a lead of *Platform* can close a quarter of it", "<@U0ALICE>")
	mustContain(t, h.slash(t, alice, "quarter close 2027-Q9"), `"2027-Q9" is not a quarter`)
	mustContain(t, h.slash(t, alice, "quarter close 2027-Q3"), "2027-Q3 has not started yet")
	mustContain(t, h.slash(t, alice, "quarter close"), "closed 2027-Q1 of *Platform*: 2 objectives closed, scores frozen")
	mustContain(t, h.slash(t, alice, "quarter close"), "Nothing to close")

	mustContain(t, h.slash(t, bob, "quarter carry 2027-Q1"), "Only a lead of *Platform*")
	mustContain(t, h.slash(t, alice, "quarter carry 2027-Q1"), "carried 1 objective of *Platform* into 2027-Q2: *Delight users*")
	mustContain(t, h.slash(t, alice, "quarter carry 2027-Q1"), "Nothing to carry over")

	ctx := context.Background()
	next, err := h.main.Store.ObjectivesByTeam(ctx, s.teamID, "2027-Q2")
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].Title != "Delight users" || len(next[0].KeyResults) != 1 ||
		next[0].KeyResults[0].Start != 32 || next[0].KeyResults[0].Target != 50 {
		t.Fatalf("2027-Q2 holds %+v, want Delight users with NPS from 32 to 50", next)
	}

	// The summary asked for now says the quarter is closed.
	before := len(channelReports(h.emu, "Quarterly summary"))
	mustContain(t, h.slash(t, bob, "summary 2027-Q1"), "Posting the 2027-Q1 summary of *Platform* here")
	h.waitReports(t, "Quarterly summary", before+1)
	got := channelReports(h.emu, "Quarterly summary")
	mustContain(t, got[len(got)-1], "the quarter is closed: scores are final", "score *1.0*", "score *0.4*")
}

// waitReports waits until n reports starting with prefix are in the team
// channel.
func (h *clockHarness) waitReports(tb testing.TB, prefix string, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(ctx, func() bool { return len(channelReports(h.emu, prefix)) >= n }); err != nil {
		tb.Fatalf("%d reports %q, want %d", len(channelReports(h.emu, prefix)), prefix, n)
	}
}

// TestWeeklyDigest posts a digest on demand, then the scheduled one on the
// team's digest day, which shows the change since the first.
func TestWeeklyDigest(t *testing.T) {
	t.Parallel()
	// Monday, February 15, 2027, in 2027-Q1 (fiscal year from January).
	start := time.Date(2027, time.February, 15, 8, 0, 0, 0, time.UTC)
	h := mustStartAt(t, start)
	p := okr.QuarterOf(start, time.January)

	mustContain(t, h.slash(t, alice, "team create Platform"), "Platform")
	mustContain(t, h.slash(t, alice, "digest"), "Posting the weekly digest of *Platform* here")
	h.waitReports(t, "Weekly digest", 1)
	mustContain(t, channelReports(h.emu, "Weekly digest")[0], "Nothing to report for *Platform* yet", "/okr new")
	h.slash(t, alice, "team add <@U0BOB|bob> <@U0CHEN|chen>")

	ctx := context.Background()
	team, err := h.main.Store.TeamByChannel(ctx, demoChannel)
	if err != nil {
		t.Fatal(err)
	}
	o := okr.Objective{TeamID: team.ID, Title: "Make deploys boring", OwnerID: alice, Kind: okr.Committed, CreatedBy: alice,
		KeyResults: []okr.KeyResult{
			{Title: "Deploy time", OwnerID: bob, Kind: okr.Metric, Unit: "min", Start: 60, Target: 10, Current: 60},
			{Title: "Canary for every service", OwnerID: chen, Kind: okr.Milestone, Target: 1},
		}}
	if err := h.main.Store.CreateObjective(ctx, &o, p); err != nil {
		t.Fatal(err)
	}
	db := sqlx.MustConnect("postgres", h.dbURL)
	defer db.Close()
	db.MustExec(`UPDATE objectives SET created_at = $2 WHERE id = $1`, o.ID, p.Start)
	update := func(kr int64, v float64, conf int, who string, at time.Time) {
		db.MustExec(`INSERT INTO kr_updates (key_result_id, value, confidence, comment, user_id, created_at) VALUES ($1, $2, $3, '', $4, $5)`, kr, v, conf, who, at)
		db.MustExec(`UPDATE key_results SET current_value = $2, confidence = $3 WHERE id = $1`, kr, v, conf)
	}
	update(o.KeyResults[0].ID, 50, 8, bob, start.Add(-48*time.Hour))
	// The second digest, on demand, is the "previous" one of Friday's.
	mustContain(t, h.slash(t, bob, "digest"), "Posting the weekly digest")
	h.waitReports(t, "Weekly digest", 2)
	mustContain(t, channelReports(h.emu, "Weekly digest")[1], "*Make deploys boring*", "`█░░░░░░░░░` *10%*")

	// During the week: deploy time down to 35 (progress 0.5), the canary
	// at risk, an uptime KPI read, and check-ins with a blocker.
	update(o.KeyResults[0].ID, 35, 8, bob, start.Add(24*time.Hour))
	update(o.KeyResults[1].ID, 0, 5, chen, start.Add(25*time.Hour))
	var kpi int64
	db.QueryRowx(`INSERT INTO kpis (team_id, name, owner_id, unit, direction, warning, critical, cadence)
		VALUES ($1, 'uptime', $2, '%', 'higher_is_better', 99, 98, 'weekly') RETURNING id`, team.ID, bob).Scan(&kpi)
	for i, v := range []float64{99.9, 99.2, 98.7} {
		db.MustExec(`INSERT INTO kpi_readings (kpi_id, value, read_at, user_id) VALUES ($1, $2, $3, $4)`, kpi, v, start.Add(time.Duration(i+1)*time.Hour), bob)
	}
	cycle := time.Date(2027, time.February, 15, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		who, state, blockers string
	}{{bob, "answered", "Waiting on the \"infra\" budget, see <https://x|this>"}, {chen, "missed", ""}, {alice, "skipped", ""}} {
		db.MustExec(`INSERT INTO checkins (team_id, user_id, cycle_start, due_at, state, blockers, answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			team.ID, c.who, cycle, start.Add(2*time.Hour), c.state, c.blockers, nullIf(c.state != "answered", start.Add(3*time.Hour)))
	}

	// Friday 16:00 is the default digest time.
	h.advance(t, time.Date(2027, time.February, 19, 16, 0, 0, 0, time.UTC))
	got := channelReports(h.emu, "Weekly digest")
	if len(got) != 3 {
		t.Fatalf("%d digests, want 3", len(got))
	}
	mustContain(t, got[2],
		"Weekly digest · Platform · 2027-Q1",
		"*Make deploys boring*", "`███░░░░░░░` *25%* · ▲ 15 pts",
		"*At risk or off track*", "🟡 *Canary for every service* — at risk · 0% · <@U0CHEN> · confidence 5/10",
		"🟡 *uptime* — 98.7% · █▄▁ · <@U0BOB>",
		"> Waiting on the \"infra\" budget, see &lt;https://x|this&gt;", "— <@U0BOB>",
		"✅ 1 of 3 checked in: <@U0BOB>", "⏭️ skipped: <@U0ALICE>", "❌ missed: <@U0CHEN>",
	)
	h.advance(t, time.Date(2027, time.February, 19, 16, 10, 0, 0, time.UTC))
	if n := len(channelReports(h.emu, "Weekly digest")); n != 3 {
		t.Fatalf("%d digests after another round, want 3", n)
	}
}
