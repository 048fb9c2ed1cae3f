package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// values is a modal's input values by block id (action ids equal block ids).
type values map[string]any

func (v values) form() map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, x := range v {
		out[k] = map[string]any{k: x}
	}
	return out
}

// with returns a copy of v with change applied.
func (v values) with(change values) values {
	out := values{}
	for k, x := range v {
		out[k] = x
	}
	for k, x := range change {
		out[k] = x
	}
	return out
}

// mustRefuse submits a modal and fails unless it is refused with an inline
// error on field that says want.
func (h *harness) mustRefuse(t *testing.T, user string, view slackemu.View, v values, field, want string) {
	t.Helper()
	errs := h.submitErrors(t, user, view, v)
	if errs == nil {
		t.Fatal("the form was accepted")
	}
	mustContain(t, errs[field], want)
}

// openModal runs a command that opens a modal and returns it.
func (h *harness) openModal(tb testing.TB, user, text string) slackemu.View {
	tb.Helper()
	v, err := h.p.slashModal(context.Background(), user, demoChannel, text)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// newObjectiveModal opens the new-objective modal with room for krs key
// results.
func (h *harness) newObjectiveModal(tb testing.TB, user string, krs int) slackemu.View {
	tb.Helper()
	v, err := h.p.newObjectiveModal(context.Background(), user, demoChannel, krs)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// submitErrors submits a modal and returns the inline errors of its ack
// (nil when it was accepted).
func (h *harness) submitErrors(tb testing.TB, user string, view slackemu.View, v values) map[string]string {
	tb.Helper()
	ack, err := h.emu.SubmitView(context.Background(), user, view.ID, v.form())
	if err != nil {
		tb.Fatal(err)
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &resp); err != nil {
			tb.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
	}
	if resp.ResponseAction == "errors" {
		return resp.Errors
	}
	return nil
}

// goodObjective is a valid new-objective form.
func goodObjective() values {
	return values{
		"title": "Make support fast", "owner": slackemu.UserSelect(alice), "kind": slackemu.Option{Value: "aspirational"},
		"kr1_title": "Reduce first response time", "kr1_start": "12", "kr1_target": "4", "kr1_unit": "h",
		"kr2_title": "Raise CSAT", "kr2_start": "82%", "kr2_target": "90%",
		"kr3_title": "Launch the help center",
	}
}

func TestNewObjectiveValidation(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	h.emu.AddUser(slackemu.User{ID: "U0OUT", Name: "outsider"})
	view := h.openModal(t, alice, "new")
	if view.CallbackID != "objective_new" {
		t.Fatalf("got view %q, want objective_new", view.CallbackID)
	}
	q := okr.QuarterOf(timeNowUTC(), 1).Label()
	mustContain(t, string(view.JSON), `"initial_value":"`+q+`"`)
	// It opens with one key result and a button for more, up to five.
	for n := 1; ; n++ {
		js := string(view.JSON)
		mustContain(t, js, fmt.Sprintf(`"block_id":"kr%d_title"`, n))
		if strings.Contains(js, fmt.Sprintf(`"kr%d_title"`, n+1)) {
			t.Fatalf("modal with %d key results has a slot for key result %d", n, n+1)
		}
		if n == okr.MaxKeyResults {
			if strings.Contains(js, "objective_add_kr") {
				t.Fatalf("modal with %d key results still offers one more", n)
			}
			break
		}
		mustContain(t, js, `"action_id":"objective_add_kr"`)
		var err error
		if view, err = h.p.addKeyResult(context.Background(), alice, view); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		change values
		field  string
		want   string
	}{
		{"blank title", values{"title": "   "}, "title", "Give the objective a title"},
		{"title too long", values{"title": strings.Repeat("x", 151)}, "title", "Keep the title to 150 characters"},
		{"description too long", values{"description": strings.Repeat("x", 3001)}, "description", "Keep the description to 3000 characters"},
		{"owner outside the team", values{"owner": slackemu.UserSelect("U0OUT")}, "owner", "<@U0OUT> isn't in Platform"},
		{"period that does not exist", values{"period": "2027-Q5"}, "period", "is not a period"},
		{"period in words", values{"period": "next quarter"}, "period", "write a quarter like 2027-Q1"},
		{"period that ended", values{"period": "2020-Q1"}, "period", "2020-Q1 ended on Mar 31, 2020"},
		{"target equal to start", values{"kr1_target": "12"}, "kr1_target", "The target must differ from the start (both are 12)"},
		{"start not a number", values{"kr1_start": "twelve"}, "kr1_start", `"twelve" is not a number`},
		{"target not a number", values{"kr2_target": "90 percent"}, "kr2_target", `"90 percent" is not a number`},
		{"start without target", values{"kr1_target": ""}, "kr1_target", "Give a target too"},
		{"numbers without a title", values{"kr3_title": "", "kr4_start": "1", "kr4_target": "2"}, "kr4_title", "Give the key result a title"},
		{"kr title too long", values{"kr2_title": strings.Repeat("y", 151)}, "kr2_title", "Keep the title to 150 characters"},
		{"unit too long", values{"kr1_unit": strings.Repeat("u", 25)}, "kr1_unit", "Keep the unit to 24 characters"},
		{"no key result", values{"kr1_title": "   ", "kr1_start": "", "kr1_target": "", "kr1_unit": "", "kr2_title": "", "kr2_start": "", "kr2_target": "", "kr3_title": ""}, "kr1_title", "Add at least one key result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.mustRefuse(t, alice, view, goodObjective().with(tt.change), tt.field, tt.want)
		})
	}
	// Nothing was stored by any refused submission.
	objs, err := h.main.Store.ObjectivesByOwner(context.Background(), alice, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Fatalf("got %d objectives after refused forms, want 0", len(objs))
	}

	t.Run("valid", func(t *testing.T) {
		before := h.p.seen(alice, demoChannel)
		if errs := h.submitErrors(t, alice, view, goodObjective()); errs != nil {
			t.Fatalf("valid form refused: %v", errs)
		}
		m, err := h.p.nextMessage(context.Background(), alice, demoChannel, before)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "Created *Make support fast* for *Platform*", "aspirational", "3 key results")
		if n := len(h.emu.OpenViews(alice)); n != 0 {
			t.Errorf("got %d open modals after a valid submission, want 0", n)
		}
		objs, err := h.main.Store.ObjectivesByOwner(context.Background(), alice, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || len(objs[0].KeyResults) != 3 {
			t.Fatalf("got %+v, want one objective with 3 key results", objs)
		}
		krs := objs[0].KeyResults
		if krs[0].Start != 12 || krs[0].Target != 4 || krs[0].Unit != "h" || krs[0].Kind != okr.Metric {
			t.Errorf("kr1: got %+v", krs[0])
		}
		if krs[1].Unit != "%" || krs[1].Start != 82 || krs[1].Target != 90 {
			t.Errorf("kr2: got %+v, want 82%% → 90%%", krs[1])
		}
		if krs[2].Kind != okr.Milestone {
			t.Errorf("kr3: got kind %s, want milestone", krs[2].Kind)
		}
	})
}

func TestNewObjectiveNeedsATeam(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	mustContain(t, h.slash(t, bob, "new"), "You're not in a team yet")
	if n := len(h.emu.OpenViews(bob)); n != 0 {
		t.Errorf("got %d modals, want none", n)
	}
}

func TestAddKeyResult(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	mustContain(t, h.slash(t, alice, "kr add"), "no open objectives in")
	view := h.newObjectiveModal(t, alice, 3)
	if errs := h.submitErrors(t, alice, view, goodObjective()); errs != nil {
		t.Fatal(errs)
	}
	q := okr.QuarterOf(timeNowUTC(), 1).Label()
	objs, err := h.main.Store.ObjectivesByOwner(context.Background(), alice, q)
	if err != nil || len(objs) != 1 {
		t.Fatalf("got %v, %v", objs, err)
	}
	objID := itoa(objs[0].ID)
	kr := values{"objective": slackemu.Option{Value: objID}, "title": "Cut the backlog", "start": "340", "target": "100", "unit": "tickets"}

	t.Run("refused to a member who does not own the objective", func(t *testing.T) {
		v := h.openModal(t, chen, "kr add")
		errs := h.submitErrors(t, chen, v, kr)
		mustContain(t, errs["objective"], "Only the objective's owner or a lead of Platform")
		if _, err := h.emu.CloseView(context.Background(), chen, v.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("owner outside the team", func(t *testing.T) {
		v := h.openModal(t, alice, "kr add")
		h.mustRefuse(t, alice, v, kr.with(values{"owner": slackemu.UserSelect(dana)}), "owner", "<@U0DANA> isn't in Platform")
		h.mustRefuse(t, alice, v, kr.with(values{"owner": slackemu.UserSelect(chen), "target": "1.2.3"}), "target", `"1.2.3" is not a number`)
		before := h.p.seen(alice, demoChannel)
		if errs := h.submitErrors(t, alice, v, values{"objective": kr["objective"], "title": "Publish the runbook", "owner": slackemu.UserSelect(chen)}); errs != nil {
			t.Fatal(errs)
		}
		m, err := h.p.nextMessage(context.Background(), alice, demoChannel, before)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "Added *Publish the runbook* to *Make support fast*")
	})
	got, err := h.main.Store.Objective(context.Background(), objs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.KeyResults); n != 4 {
		t.Fatalf("got %d key results, want 4", n)
	}
	last := got.KeyResults[3]
	if last.Title != "Publish the runbook" || last.OwnerID != chen || last.Kind != okr.Milestone {
		t.Errorf("got %+v, want chen's milestone", last)
	}
}

func TestListAndGlance(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	mustContain(t, h.slash(t, bob, "list"), "You're not in a team yet")
	h.withTeam(t)
	mustContain(t, h.slash(t, alice, "list"), "No objectives yet")
	mustContain(t, h.slash(t, alice, ""), "You own no objectives")
	view := h.newObjectiveModal(t, alice, 3)
	before := h.p.seen(alice, demoChannel)
	if errs := h.submitErrors(t, alice, view, goodObjective()); errs != nil {
		t.Fatal(errs)
	}
	// The confirmation comes after the ack: wait for it, or it would be
	// taken for the answer to alice's next command.
	if _, err := h.p.nextMessage(context.Background(), alice, demoChannel, before); err != nil {
		t.Fatal(err)
	}
	list := h.slash(t, bob, "list")
	mustContain(t, list, "Platform", "Make support fast", "Reduce first response time",
		"now 12 h, target 4 h (from 12 h)", "now 82%, target 90% (from 82%)", "not done yet", "░░░░░░░░░░")
	mustContain(t, h.slash(t, alice, ""), "Your OKRs", "Make support fast")
	mustContain(t, h.slash(t, bob, "list <@U0ALICE|alice>"), "Make support fast")
	mustContain(t, h.slash(t, bob, "list <@U0CHEN>"), "<@U0CHEN> owns no objectives")
	mustContain(t, h.slash(t, bob, "list <#C0PLATFORM|platform>"), "Make support fast")
	mustContain(t, h.slash(t, bob, "list <#C0NOPE>"), "<#C0NOPE> has no team")

	// dana is not in Platform: she may not read it.
	mustContain(t, h.slash(t, dana, "list <#C0PLATFORM|platform>"), "You're not in *Platform*", "Ask <@U0ALICE>")
	// Without a target, in a channel whose team she is not in, she gets her
	// own teams (none), not a refusal.
	mustContain(t, h.slash(t, dana, "list"), "You're not in a team yet")
	h.emu.AddUser(slackemu.User{ID: "U0OWNER", Name: "owner", IsOwner: true})
	mustContain(t, h.slash(t, "U0OWNER", "list <#C0PLATFORM|platform>"), "Make support fast")
}

func TestCommandsHelpAndUnknown(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	help := h.slash(t, alice, "help")
	for _, want := range []string{"/okr list [@user|#channel]", "/okr new", "/okr kr add", "/okr team create NAME", "/okr team add @user", "/okr team lead @user"} {
		mustContain(t, help, want)
	}
	mustContain(t, h.slash(t, alice, "frobnicate"), "I don't know `/okr frobnicate`", "/okr team create NAME")
	mustContain(t, h.slash(t, alice, "new please"), "takes nothing after it", "Usage")
	mustContain(t, h.slash(t, alice, "digest"), "This channel has no team yet")
	mustContain(t, h.slash(t, alice, "list help"), "/okr list [@user|#channel]")

	// In a team's channel, help also shows the team's schedule.
	mustContain(t, h.slash(t, alice, "team create Platform"), "created the team")
	mustContain(t, h.slash(t, bob, "help"), "*Platform* here: Check-ins Mondays at 10:00 in each person's time zone, a reminder after 24 h; the digest Fridays at 16:00 (UTC)", "/okr schedule")
}
