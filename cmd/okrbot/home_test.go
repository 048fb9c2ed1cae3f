package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// The App Home, key result histories and corrections, end to end. The
// tests run on the check-in tests' fake clock (mustStartAt), so dates and
// time zones are fixed: Sunday, January 3, 2027, 20:00 UTC.

// viewText renders a view's blocks as people read them.
func viewText(tb testing.TB, v slackemu.View) string {
	tb.Helper()
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		tb.Fatal(err)
	}
	return slackemu.RenderBlocks(view.Blocks)
}

// openHome opens a person's App Home and returns it once published anew.
func (h *clockHarness) openHome(tb testing.TB, user string) slackemu.View {
	tb.Helper()
	before, _ := h.emu.HomeView(user)
	if _, err := h.emu.OpenHome(context.Background(), user); err != nil {
		tb.Fatal(err)
	}
	var home slackemu.View
	h.waitFor(tb, user+"'s App Home was not published", func() bool {
		v, ok := h.emu.HomeView(user)
		home = v
		return ok && v.Hash != before.Hash
	})
	return home
}

// waitHome waits until a person's App Home says text, and returns it.
func (h *clockHarness) waitHome(tb testing.TB, user, text string) slackemu.View {
	tb.Helper()
	var home slackemu.View
	h.waitFor(tb, fmt.Sprintf("%s's App Home never said %q", user, text), func() bool {
		v, ok := h.emu.HomeView(user)
		home = v
		return ok && strings.Contains(viewText(tb, v), text)
	})
	return home
}

// clickForModal presses a button of a view (in block blockID when set) and
// returns the modal it opens or pushes.
func (h *clockHarness) clickForModal(tb testing.TB, user string, view slackemu.View, blockID, actionID string) slackemu.View {
	tb.Helper()
	top := func() slackemu.View {
		vs := h.emu.OpenViews(user)
		if len(vs) == 0 {
			return slackemu.View{}
		}
		return vs[len(vs)-1]
	}
	before := top().ID
	var err error
	if blockID != "" {
		_, err = h.emu.ClickViewBlockButton(context.Background(), user, view.ID, blockID, actionID)
	} else {
		_, err = h.emu.ClickViewButton(context.Background(), user, view.ID, actionID)
	}
	if err != nil {
		tb.Fatal(err)
	}
	var v slackemu.View
	h.waitFor(tb, fmt.Sprintf("%s opened no modal for %s", actionID, user), func() bool {
		v = top()
		return v.ID != "" && v.ID != before
	})
	return v
}

// selectForModal picks an option of a message's select and returns the
// modal it opens; the person has none open before.
func (h *clockHarness) selectForModal(tb testing.TB, user string, m slackemu.Message, actionID, value string) slackemu.View {
	tb.Helper()
	if n := len(h.emu.OpenViews(user)); n != 0 {
		tb.Fatalf("%s has %d modals open already", user, n)
	}
	if _, err := h.emu.SelectOption(context.Background(), user, m.Ref(), actionID, value); err != nil {
		tb.Fatal(err)
	}
	var v slackemu.View
	h.waitFor(tb, fmt.Sprintf("%s opened no modal for %s", actionID, user), func() bool {
		vs := h.emu.OpenViews(user)
		if len(vs) == 1 {
			v = vs[0]
			return true
		}
		return false
	})
	return v
}

// quarter is the fake clock's quarter.
func (h *clockHarness) quarter() okr.Period { return okr.QuarterOf(h.clock.Now(), time.January) }

// mustObjective stores an objective of the Platform team owned by owner,
// with key results (metric, 0 → 100 unless they say otherwise).
func (h *clockHarness) mustObjective(tb testing.TB, owner, title string, krs ...okr.KeyResult) *okr.Objective {
	tb.Helper()
	for i := range krs {
		if krs[i].Kind == "" {
			krs[i].Kind, krs[i].Start, krs[i].Target = okr.Metric, 0, 100
		}
		if krs[i].OwnerID == "" {
			krs[i].OwnerID = owner
		}
	}
	o := &okr.Objective{TeamID: h.platform(tb).ID, Title: title, OwnerID: owner, Kind: okr.Committed,
		Status: okr.Active, CreatedBy: owner, KeyResults: krs}
	if err := h.main.Store.CreateObjective(context.Background(), o, h.quarter()); err != nil {
		tb.Fatal(err)
	}
	return o
}

// percentKR is a metric key result at current (of 0 → 100) with a confidence.
func percentKR(title string, current float64, confidence int) okr.KeyResult {
	return okr.KeyResult{Title: title, Current: current, Confidence: confidence, Unit: "%"}
}

// inOrder fails unless each of want appears in text after the one before.
func inOrder(tb testing.TB, text string, want ...string) {
	tb.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(text[at:], w)
		if i < 0 {
			tb.Fatalf("%q is missing or out of order (want order %q) in:\n%s", w, want, text)
		}
		at += i + len(w)
	}
}

func TestHomeWithNothing(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withTeam(t)
	for _, user := range []string{dana, bob} {
		home := h.openHome(t, user)
		text := viewText(t, home)
		mustContain(t, text, "*Your OKRs · 2027-Q1*",
			"You own no objectives or key results this quarter yet",
			"No weekly check-in for you yet",
			"[Check in now] [New objective] [Record KPI]")
		if strings.Contains(text, "At risk") || strings.Contains(text, "[History]") {
			t.Errorf("%s: got at-risk items or key results with nothing owned:\n%s", user, text)
		}
	}
}

func TestHomeMostRelevantFirst(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withTeam(t)
	fine := h.mustObjective(t, alice, "Grow the community", percentKR("Meetups held", 70, 8), percentKR("Forum posts answered", 60, 9))
	offTrack := h.mustObjective(t, alice, "Keep customers", percentKR("Cut churn", 10, 2), percentKR("Renewals signed", 50, 7))
	atRisk := h.mustObjective(t, alice, "Ship faster", percentKR("Deploys a day", 40, 5))
	// Chen owns a key result of one of them; nobody reported one of bob's.
	h.mustObjective(t, bob, "Hire well", okr.KeyResult{Title: "Interviews done", OwnerID: chen, Current: 20}, okr.KeyResult{Title: "Offers made"})

	home := h.openHome(t, alice)
	text := viewText(t, home)
	// Off track, then at risk, then on track.
	inOrder(t, text, "*Keep customers*", "Cut churn", "Renewals signed", "*Ship faster*", "Deploys a day", "*Grow the community*")
	mustContain(t, text,
		"🗓️ Next check-in: *Mon, Jan 4 at 10:00 (CET)* · Platform",
		"`█░░░░░░░░░` 🔴 *Cut churn* — now 10%, target 100% (from 0%) · 10% · <@U0ALICE> · confidence 2/10  [History]",
		"*At risk in your teams*",
		"🔴 *Cut churn* · Keep customers · Platform · <@U0ALICE> · confidence 2/10",
		"🟡 *Deploys a day* · Ship faster · Platform · <@U0ALICE> · confidence 5/10",
	)
	if strings.Contains(text, "…and") {
		t.Errorf("three objectives: got an \"and more\" line:\n%s", text)
	}
	if strings.Contains(text, "Hire well") {
		t.Errorf("alice's home shows bob's objective she owns nothing of:\n%s", text)
	}
	for _, o := range []*okr.Objective{fine, offTrack, atRisk} {
		for _, k := range o.KeyResults {
			mustContain(t, string(home.JSON), fmt.Sprintf(`"block_id":"kr_%d"`, k.ID))
		}
	}
	// The at-risk items are the team's, least confident first, beyond what
	// one owns; and each person's next check-in is in their own time zone.
	text = viewText(t, h.openHome(t, chen))
	inOrder(t, text, "*At risk in your teams*", "Cut churn", "Deploys a day")
	mustContain(t, text, "*Hire well*", "<@U0BOB>", "🗓️ Next check-in: *Mon, Jan 4 at 10:00 (JST)* · Platform")
	mustContain(t, viewText(t, h.openHome(t, bob)), "🗓️ Next check-in: *Mon, Jan 4 at 10:00 (EST)* · Platform")

	// Once the check-in is out it is open, and the next is a week later.
	h.advance(t, jan(4, 9, 0))
	mustContain(t, viewText(t, h.openHome(t, alice)),
		"📝 Your *Platform* check-in is open: answer by Mon, Jan 11 at 10:00 (CET).",
		"🗓️ Next check-in: *Mon, Jan 11 at 10:00 (CET)* · Platform")
	// Someone away hears that instead.
	mustContain(t, h.slash(t, chen, "away until 2027-01-20"), "away")
	mustContain(t, viewText(t, h.openHome(t, chen)), "🌴 You're away until Wed, Jan 20: no check-ins until then.")
}

func TestHomeSixtyObjectives(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withTeam(t)
	const n = 60
	titles := make([]string, n)
	for i := range n {
		titles[i] = fmt.Sprintf("Objective %02d", i)
		krs := []okr.KeyResult{percentKR("First", 50, 9), percentKR("Second", 60, 8), percentKR("Third", 70, 9)}
		switch i {
		case 37: // the one off track, with more key results than a home shows
			krs[1].Confidence = 1
			for j := range 7 {
				krs = append(krs, percentKR(fmt.Sprintf("Extra %d", j), 10, 7))
			}
		case 12: // at risk
			krs[2].Confidence = 4
		case 50: // on track but least progress
			krs[0].Current, krs[1].Current, krs[2].Current = 0, 0, 0
		}
		h.mustObjective(t, alice, titles[i], krs...)
	}
	home := h.openHome(t, alice)
	text := viewText(t, home)
	if got := blockCount(t, home.JSON); got > 100 {
		t.Fatalf("got %d blocks, want at most 100", got)
	}
	inOrder(t, text, "*Objective 37*", "Extra 4", "…and 2 more key results — see `/okr list`.",
		"*Objective 12*", "*Objective 50*", "*Objective 00*", "*Objective 01*")
	if strings.Contains(text, "Extra 5") {
		t.Errorf("got more than 8 key results of one objective")
	}
	shown := 0
	for _, title := range titles {
		if strings.Contains(text, "*"+title+"*") {
			shown++
		}
	}
	if shown < 10 || shown == n {
		t.Fatalf("got %d objectives shown, want some but not all", shown)
	}
	mustContain(t, text, fmt.Sprintf("…and %d more objectives — see `/okr list`.", n-shown), "*At risk in your teams*")
}

func TestHomeButtons(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	o := h.withOKRs(t)
	h.newKPI(t, bob, goodKPI())
	ctx := context.Background()

	t.Run("check in now", func(t *testing.T) {
		home := h.openHome(t, alice)
		view := h.clickForModal(t, alice, home, "", "checkin_now")
		if view.CallbackID != "checkin" {
			t.Fatalf("got modal %q, want the check-in", view.CallbackID)
		}
		mustContain(t, viewText(t, view), "Reduce first response time (h)", "Raise CSAT (%)", "Launch the help center")
		if a := h.submitForm(t, alice, view, fill(t, view, map[int64]string{o.alice[0]: "9"})); len(a.Errors) > 0 {
			t.Fatalf("check-in refused: %v", a.Errors)
		}
		// The home it came from shows the new value.
		h.waitHome(t, alice, "now 9 h, target 4 h (from 12 h)")
		if ups := h.krUpdates(t, alice); len(ups) != 3 || ups[0].Value != 9 {
			t.Errorf("got updates %+v, want alice's three, 9 h first", ups)
		}
	})

	t.Run("new objective", func(t *testing.T) {
		view := h.clickForModal(t, alice, h.openHome(t, alice), "", "new_objective")
		if view.CallbackID != "objective_new" {
			t.Errorf("got modal %q, want objective_new", view.CallbackID)
		}
		if _, err := h.emu.CloseView(ctx, alice, view.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("record KPI", func(t *testing.T) {
		view := h.clickForModal(t, bob, h.openHome(t, bob), "", "kpi_record_open")
		if view.CallbackID != "kpi_record" {
			t.Fatalf("got modal %q, want kpi_record", view.CallbackID)
		}
		mustContain(t, viewText(t, view), "KPI: [on-time-delivery (%) ▾]")
		h.mustRefuse(t, bob, view, values{"value": "ninety"}, "value", `"ninety" is not a number`)
		if n := h.count(t, `SELECT count(*) FROM kpi_readings`); n != 0 {
			t.Fatalf("got %d readings after refused forms, want 0", n)
		}
		dms := len(h.emu.DM(bob))
		if errs := h.submitErrors(t, bob, view, values{"value": "96%", "note": "after the carrier switch"}); errs != nil {
			t.Fatalf("valid reading refused: %v", errs)
		}
		m, err := h.p.waitDM(ctx, bob, dms+1)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "✅ Recorded 96% for on-time-delivery: 🟢 green")
		if n := h.count(t, `SELECT count(*) FROM kpi_readings WHERE value = 96 AND user_id = $1 AND note = 'after the carrier switch'`, bob); n != 1 {
			t.Errorf("got %d such readings, want 1", n)
		}
		h.waitHome(t, bob, "on-time-delivery* — 96%")
	})

	t.Run("record KPI someone else owns", func(t *testing.T) {
		view := h.clickForModal(t, chen, h.openHome(t, chen), "", "kpi_record_open")
		h.mustRefuse(t, chen, view, values{"value": "97"}, "kpi", "Only its owner or a lead of Platform can record on-time-delivery.")
	})
}

// updateIDs returns the update ids of a key result, oldest first.
func (h *clockHarness) updateIDs(tb testing.TB, krID int64) []int64 {
	tb.Helper()
	var ids []int64
	if err := h.main.Store.DB().SelectContext(context.Background(), &ids, `
		SELECT id FROM kr_updates WHERE key_result_id = $1 ORDER BY id`, krID); err != nil {
		tb.Fatal(err)
	}
	return ids
}

func TestKRHistoryAndCorrections(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	o := h.withOKRs(t)
	ctx := context.Background()
	first := o.alice[0] // 12 → 4 h

	// Alice checks in from her App Home: 8 h.
	view := h.clickForModal(t, alice, h.openHome(t, alice), "", "checkin_now")
	form := fill(t, view, map[int64]string{first: "8"})
	if a := h.submitForm(t, alice, view, form); len(a.Errors) > 0 {
		t.Fatalf("check-in refused: %v", a.Errors)
	}
	home := h.waitHome(t, alice, "now 8 h")
	reported := h.updateIDs(t, first)[0]
	reportedBlock := fmt.Sprintf("update_%d", reported)

	var hist slackemu.View
	t.Run("from the App Home, in the viewer's time zone", func(t *testing.T) {
		hist = h.clickForModal(t, alice, home, fmt.Sprintf("kr_%d", first), "kr_history")
		if hist.CallbackID != "kr_history" {
			t.Fatalf("got modal %q, want kr_history", hist.CallbackID)
		}
		mustContain(t, string(hist.JSON), `"text":"Key result history"`)
		mustContain(t, viewText(t, hist),
			"*Reduce first response time* — now 8 h, target 4 h (from 12 h)",
			"_Make support fast · Platform_",
			fmt.Sprintf("*8 h* · 🟢 confidence 8/10, on track\n<@U0ALICE> · Sun, Jan 3 at 21:00 (CET)\n> Comment on %d.  [Correct]", first))
	})

	t.Run("from /okr list, without Correct buttons for others' updates", func(t *testing.T) {
		m, err := h.p.slash(ctx, chen, demoChannel, "list")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, slackemu.RenderBlocks(m.Blocks), "[History… ▾]")
		v := h.selectForModal(t, chen, m, "kr_history", itoa(first))
		text := viewText(t, v)
		mustContain(t, text, "*8 h* · 🟢 confidence 8/10, on track", "<@U0ALICE> · Mon, Jan 4 at 05:00 (JST)")
		if strings.Contains(text, "[Correct]") {
			t.Errorf("chen may correct alice's update:\n%s", text)
		}
		if _, err := h.emu.CloseView(ctx, chen, v.ID); err != nil {
			t.Fatal(err)
		}
	})

	var fix slackemu.View
	t.Run("invalid corrections", func(t *testing.T) {
		fix = h.clickForModal(t, alice, hist, reportedBlock, "kr_correct")
		if fix.CallbackID != "kr_correct" || len(h.emu.OpenViews(alice)) != 2 {
			t.Fatalf("got modal %q over %d, want kr_correct pushed over the history", fix.CallbackID, len(h.emu.OpenViews(alice))-1)
		}
		mustContain(t, viewText(t, fix), "Correcting <@U0ALICE>'s update of Sun, Jan 3 at 21:00 (CET): *8 h*, confidence 8/10.",
			"Reduce first response time (h): [8]", "Confidence: [8 · on track ▾]", fmt.Sprintf("Comment (optional): [Comment on %d.]", first))
		value := krInputID(first, "value")
		h.mustRefuse(t, alice, fix, values{value: "eight"}, value, `"eight" is not a number`)
		h.mustRefuse(t, alice, fix, values{value: "1,5"}, value, `"1,5" is not a number`)
		if got := len(h.updateIDs(t, first)); got != 1 {
			t.Fatalf("got %d updates after refused corrections, want 1", got)
		}
	})

	t.Run("a correction is a new update the key result follows", func(t *testing.T) {
		ack := h.submitForm(t, alice, fix, map[string]map[string]any{
			krInputID(first, "value"):   {krInputID(first, "value"): "7.5"},
			krInputID(first, "conf"):    {krInputID(first, "conf"): slackemu.Option{Value: "6"}},
			krInputID(first, "comment"): {krInputID(first, "comment"): "Mistyped: 7.5, not 8"},
		})
		if len(ack.Errors) > 0 || ack.ResponseAction != "" {
			t.Fatalf("got %+v, want an empty ack", ack)
		}
		if views := h.emu.OpenViews(alice); len(views) != 1 || views[0].ID != hist.ID {
			t.Fatalf("got %d modals, want the history alone", len(views))
		}
		ids := h.updateIDs(t, first)
		if len(ids) != 2 {
			t.Fatalf("got %d updates, want the report and its correction", len(ids))
		}
		var rows []struct {
			Value      float64 `db:"value"`
			Confidence int     `db:"confidence"`
			Corrects   *int64  `db:"corrects_id"`
			User       string  `db:"user_id"`
		}
		if err := h.main.Store.DB().SelectContext(ctx, &rows, `
			SELECT value, confidence, corrects_id, user_id FROM kr_updates WHERE key_result_id = $1 ORDER BY id`, first); err != nil {
			t.Fatal(err)
		}
		if rows[0].Value != 8 || rows[0].Confidence != 8 || rows[0].Corrects != nil {
			t.Errorf("the report changed: got %+v", rows[0])
		}
		if rows[1].Value != 7.5 || rows[1].Confidence != 6 || rows[1].Corrects == nil || *rows[1].Corrects != reported || rows[1].User != alice {
			t.Errorf("correction: got %+v", rows[1])
		}
		k, err := h.main.Store.KeyResult(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if k.Current != 7.5 || k.Confidence != 6 {
			t.Errorf("key result: got %v at %d, want 7.5 at 6", k.Current, k.Confidence)
		}
		// The history under it shows both, the correction first.
		var text string
		h.waitFor(t, "the history was not shown again", func() bool {
			v, _ := h.emu.ViewByID(hist.ID)
			text = viewText(t, v)
			return strings.Contains(text, "_correction_")
		})
		inOrder(t, text, "✏️ *7.5 h* · 🟡 confidence 6/10, at risk · _correction_\n<@U0ALICE> · Sun, Jan 3 at 21:00 (CET)\n> Mistyped: 7.5, not 8  [Correct]",
			"~8 h · confidence 8/10, on track~ · _corrected_")
		if strings.Count(text, "[Correct]") != 1 {
			t.Errorf("got %d Correct buttons, want one (the corrected update has none):\n%s", strings.Count(text, "[Correct]"), text)
		}
		h.waitHome(t, alice, "now 7.5 h")
	})

	t.Run("refused to someone who may no longer", func(t *testing.T) {
		// Dana, a workspace admin outside the team, may act as its lead.
		h.emu.SetUser(slackemu.User{ID: dana, Name: "dana", RealName: "Dana Cruz", TZ: "America/Los_Angeles", IsAdmin: true})
		m, err := h.p.slash(ctx, dana, demoChannel, "list")
		if err != nil {
			t.Fatal(err)
		}
		danaHist := h.selectForModal(t, dana, m, "kr_history", itoa(first))
		correction := h.updateIDs(t, first)[1]
		block := fmt.Sprintf("update_%d", correction)
		form := h.clickForModal(t, dana, danaHist, block, "kr_correct")

		// Her admin rights end, and Slack says so once the bot asks again.
		h.emu.SetUser(slackemu.User{ID: dana, Name: "dana", RealName: "Dana Cruz", TZ: "America/Los_Angeles"})
		h.advance(t, sunday.Add(15*time.Minute))
		value := krInputID(first, "value")
		h.mustRefuse(t, dana, form, values{value: "7"}, value, "Only the person who reported this update, or a lead of Platform, can correct it.")
		if _, err := h.emu.CloseView(ctx, dana, form.ID); err != nil {
			t.Fatal(err)
		}
		notice := h.clickForModal(t, dana, danaHist, block, "kr_correct")
		mustContain(t, viewText(t, notice), "⛔ Only the person who reported this update, or a lead of Platform, can correct it. Ask <@U0ALICE>.")
		if got := len(h.updateIDs(t, first)); got != 2 {
			t.Errorf("got %d updates after refusals, want 2", got)
		}
	})

	t.Run("a correction of an older report leaves the key result", func(t *testing.T) {
		// A second report at 6 h; then alice corrects the first one's correction.
		if ok, err := h.main.Store.RecordCheckin(ctx, okr.CheckinAnswer{UserID: alice, At: h.clock.Now(),
			Updates: []okr.KRUpdate{{KeyResultID: first, Value: 6, Confidence: 7, Status: okr.OnTrack}}}); err != nil || !ok {
			t.Fatalf("second report: %v, %v", ok, err)
		}
		v := h.clickForModal(t, alice, h.waitHome(t, alice, "Your OKRs"), fmt.Sprintf("kr_%d", first), "kr_history")
		inOrder(t, viewText(t, v), "*6 h*", "✏️ *7.5 h*", "~8 h")
		correction := h.updateIDs(t, first)[1]
		form := h.clickForModal(t, alice, v, fmt.Sprintf("update_%d", correction), "kr_correct")
		if a := h.submitForm(t, alice, form, map[string]map[string]any{krInputID(first, "value"): {krInputID(first, "value"): "7"}}); len(a.Errors) > 0 {
			t.Fatalf("refused: %v", a.Errors)
		}
		k, err := h.main.Store.KeyResult(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if k.Current != 6 || k.Confidence != 7 {
			t.Errorf("key result: got %v at %d, want the newer report's 6 at 7", k.Current, k.Confidence)
		}
	})
}

func TestKRHistoryPages(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.withTeam(t)
	o := h.mustObjective(t, alice, "Ship faster", percentKR("Deploys a day", 0, 0))
	krID := o.KeyResults[0].ID
	ctx := context.Background()
	const n = 45
	for i := range n {
		at := sunday.Add(-time.Duration(n-i) * time.Hour)
		if ok, err := h.main.Store.RecordCheckin(ctx, okr.CheckinAnswer{UserID: alice, At: at,
			Updates: []okr.KRUpdate{{KeyResultID: krID, Value: float64(i), Confidence: 5, Comment: fmt.Sprintf("report %d", i)}}}); err != nil || !ok {
			t.Fatalf("report %d: %v, %v", i, ok, err)
		}
	}
	hist := h.clickForModal(t, alice, h.openHome(t, alice), fmt.Sprintf("kr_%d", krID), "kr_history")
	text := viewText(t, hist)
	inOrder(t, text, "report 44", "report 25", "[Older →]")
	if strings.Contains(text, "report 24") || strings.Contains(text, "Newer") {
		t.Errorf("first page: got more than the 20 newest:\n%s", text)
	}
	if got := blockCount(t, hist.JSON); got > 100 {
		t.Errorf("got %d blocks, want at most 100", got)
	}
	v, _ := h.emu.ViewByID(hist.ID)
	if _, err := h.emu.ClickViewButton(ctx, alice, hist.ID, "kr_history_older"); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the older page was not shown", func() bool {
		now, _ := h.emu.ViewByID(hist.ID)
		text = viewText(t, now)
		return now.Hash != v.Hash
	})
	inOrder(t, text, "report 24", "report 5", "[← Newer] [Older →]")
	if strings.Contains(text, "report 25") || strings.Contains(text, "> report 4  [") {
		t.Errorf("second page: got more than reports 24 to 5:\n%s", text)
	}
}
