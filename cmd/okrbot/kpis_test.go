package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// otherChannel is a channel of the demo workspace bound to no team.
const otherChannel = "C0OTHER"

// goodKPI is a valid new-KPI form: on-time delivery, at or above 95 %,
// critical below 90 %, read weekly, owned by whoever opens the form.
func goodKPI() values {
	return values{
		"name": "on-time-delivery", "unit": "%", "direction": slackemu.Option{Value: "higher_is_better"},
		"warning": "95%", "critical": "90%", "cadence": slackemu.Option{Value: "weekly"},
		"data_source": "Shipping dashboard",
	}
}

// newKPI defines a KPI with user's /okr kpi new in the team's channel.
func (h *harness) newKPI(tb testing.TB, user string, v values) {
	tb.Helper()
	view := h.openModal(tb, user, "kpi new")
	before := h.p.seen(user, demoChannel)
	if errs := h.submitErrors(tb, user, view, v); errs != nil {
		tb.Fatalf("KPI refused: %v", errs)
	}
	m, err := h.p.nextMessage(context.Background(), user, demoChannel, before)
	if err != nil {
		tb.Fatal(err)
	}
	mustContain(tb, m.Text, "Defined the KPI")
}

// command runs an /okr command in a channel and returns the text of the
// ephemeral reply the person gets (not a channel message that may come first).
func (h *harness) command(tb testing.TB, user, channel, text string) string {
	tb.Helper()
	before := len(h.emu.Ephemerals(user))
	ctx := context.Background()
	if _, err := h.emu.SlashCommand(ctx, user, channel, "/okr", text); err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got slackemu.Message
	err := h.emu.WaitFor(wctx, func() bool {
		if e := h.emu.Ephemerals(user); len(e) > before {
			got = e[before]
			return true
		}
		return false
	})
	if err != nil {
		tb.Fatalf("/okr %s: no reply to %s: %v", text, user, err)
	}
	return got.Text + "\n" + slackemu.RenderBlocks(got.Blocks)
}

// record runs /okr kpi record in the team's channel and returns the reply.
func (h *harness) record(tb testing.TB, user, args string) string {
	tb.Helper()
	return h.command(tb, user, demoChannel, "kpi record "+args)
}

// alertPosts returns the alert messages of a channel.
func (h *harness) alertPosts(channel string) []slackemu.Message {
	var out []slackemu.Message
	for _, m := range h.emu.Messages(channel) {
		if bytes.Contains(m.Metadata, []byte(`"okrbot_alert"`)) {
			out = append(out, m)
		}
	}
	return out
}

// waitAlerts waits until a channel has n alert messages and returns the last.
func (h *harness) waitAlerts(tb testing.TB, channel string, n int) slackemu.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(ctx, func() bool { return len(h.alertPosts(channel)) >= n }); err != nil {
		tb.Fatalf("got %d alert messages in %s, want %d", len(h.alertPosts(channel)), channel, n)
	}
	posts := h.alertPosts(channel)
	if len(posts) != n {
		tb.Fatalf("got %d alert messages in %s, want %d", len(posts), channel, n)
	}
	return posts[n-1]
}

// count runs a count(*) query.
func (h *harness) count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := h.main.Store.DB().GetContext(context.Background(), &n, query, args...); err != nil {
		tb.Fatal(err)
	}
	return n
}

// platform returns the Platform team.
func (h *harness) platform(tb testing.TB) *okr.Team {
	tb.Helper()
	t, err := h.main.Store.TeamByChannel(context.Background(), demoChannel)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestKPINew(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	h.emu.AddUser(slackemu.User{ID: "U0OUT", Name: "outsider"})
	view := h.openModal(t, bob, "kpi new")
	if view.CallbackID != "kpi_new" {
		t.Fatalf("got view %q, want kpi_new", view.CallbackID)
	}
	mustContain(t, string(view.JSON), `"initial_user":"U0BOB"`, "Higher is better", "Lower is better")

	tests := []struct {
		name   string
		change values
		field  string
		want   string
	}{
		{"critical above warning when higher is better", values{"warning": "90", "critical": "95"}, "critical", "critical threshold must be below the warning one"},
		{"critical below warning when lower is better", values{"direction": slackemu.Option{Value: "lower_is_better"}, "warning": "8", "critical": "4"}, "critical", "critical threshold must be above the warning one"},
		{"equal thresholds", values{"critical": "95%"}, "critical", "must be below the warning one"},
		{"warning not a number", values{"warning": "ninety-five"}, "warning", `"ninety-five" is not a number`},
		{"critical not a number", values{"critical": "1,20"}, "critical", `"1,20" is not a number`},
		{"name with spaces", values{"name": "on time delivery"}, "name", "without spaces"},
		{"blank name", values{"name": "  "}, "name", "Give the KPI a name"},
		{"owner outside the team", values{"owner": slackemu.UserSelect("U0OUT")}, "owner", "<@U0OUT> isn't in Platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.mustRefuse(t, bob, view, goodKPI().with(tt.change), tt.field, tt.want)
		})
	}
	if n := h.count(t, `SELECT count(*) FROM kpis`); n != 0 {
		t.Fatalf("got %d KPIs after refused forms, want 0", n)
	}

	t.Run("valid", func(t *testing.T) {
		before := h.p.seen(bob, demoChannel)
		if errs := h.submitErrors(t, bob, view, goodKPI()); errs != nil {
			t.Fatalf("valid form refused: %v", errs)
		}
		m, err := h.p.nextMessage(context.Background(), bob, demoChannel, before)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "Defined the KPI *on-time-delivery* for *Platform*", "below 90%", "owned by <@U0BOB>")
		ks, err := h.main.Store.KPIsByTeam(context.Background(), h.platform(t).ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 1 {
			t.Fatalf("got %d KPIs, want 1", len(ks))
		}
		k := ks[0]
		if k.Name != "on-time-delivery" || k.OwnerID != bob || k.Unit != "%" || k.Warning != 95 || k.Critical != 90 ||
			k.Direction != okr.HigherIsBetter || k.Cadence != okr.Weekly || k.DataSource != "Shipping dashboard" {
			t.Errorf("got %+v", k)
		}
	})
	t.Run("duplicate name", func(t *testing.T) {
		view := h.openModal(t, chen, "kpi new")
		v := goodKPI()
		v["name"] = "On-Time-Delivery"
		errs := h.submitErrors(t, chen, view, v)
		mustContain(t, errs["name"], "Platform already has a KPI called On-Time-Delivery")
	})
	t.Run("not in a team", func(t *testing.T) {
		mustContain(t, h.command(t, dana, otherChannel, "kpi new"), "You're not in a team yet")
	})
	t.Run("glance without readings", func(t *testing.T) {
		mustContain(t, h.command(t, bob, demoChannel, ""), "Your KPIs", "on-time-delivery", "no reading yet")
	})
}

func TestKPIRecordInput(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	backlog := values{"name": "ticket-backlog", "unit": "tickets", "direction": slackemu.Option{Value: "lower_is_better"},
		"warning": "5k", "critical": "10k", "cadence": slackemu.Option{Value: "daily"}}
	h.newKPI(t, bob, backlog)
	ctx := context.Background()
	kpis, err := h.main.Store.KPIsOwnedBy(ctx, bob)
	if err != nil || len(kpis) != 1 {
		t.Fatalf("got %v, %v, want bob's one KPI", kpis, err)
	}
	id := kpis[0].ID

	t.Run("accepted forms", func(t *testing.T) {
		for _, tt := range []struct {
			in   string
			want float64
			says string
		}{
			{"95", 95, "Recorded 95 tickets for ticket-backlog: 🟢 green"},
			{"95%", 95, "Recorded 95 tickets"},
			{"1,200", 1200, "Recorded 1,200 tickets"},
			{"1.2k", 1200, "Recorded 1,200 tickets"},
			{"-3.5", -3.5, "Recorded -3.5 tickets"},
			{"7,500 after the holiday rush", 7500, "🟡 yellow, above the warning 5,000 tickets"},
		} {
			mustContain(t, h.record(t, bob, "ticket-backlog "+tt.in), tt.says)
			rs, err := h.main.Store.Readings(ctx, id, 1)
			if err != nil || len(rs) != 1 {
				t.Fatalf("%s: got readings %v, %v", tt.in, rs, err)
			}
			if rs[0].Value != tt.want || rs[0].UserID != bob {
				t.Errorf("%s: got %v by %s, want %v by bob", tt.in, rs[0].Value, rs[0].UserID, tt.want)
			}
		}
		rs, _ := h.main.Store.Readings(ctx, id, 1)
		if rs[0].Note != "after the holiday rush" {
			t.Errorf("got note %q, want %q", rs[0].Note, "after the holiday rush")
		}
	})
	readings := h.count(t, `SELECT count(*) FROM kpi_readings`)
	t.Run("rejected forms", func(t *testing.T) {
		for _, tt := range []struct{ args, want string }{
			{"ticket-backlog ninety", `"ninety" is not a number`},
			{"ticket-backlog 1,20", `"1,20" is not a number`},
			{"ticket-backlog 1e5", `"1e5" is not a number`},
			{"ticket-backlog", "Give the KPI's name and a value"},
			{"ticket-backlog 5 " + strings.Repeat("n", 501), "Keep the note to 500 characters"},
		} {
			mustContain(t, h.record(t, bob, tt.args), tt.want)
		}
		if n := h.count(t, `SELECT count(*) FROM kpi_readings`); n != readings {
			t.Errorf("got %d readings after refused input, want %d", n, readings)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		mustContain(t, h.record(t, bob, "nope 5"), "No KPI called `nope` in your teams", "Yours: `ticket-backlog`")
		mustContain(t, h.record(t, dana, "nope 5"), "No KPI called `nope` in your teams, and you own none")
	})
	t.Run("ambiguous name", func(t *testing.T) {
		for _, name := range []string{"deploys-weekly", "deploys-failed"} {
			v := goodKPI()
			v["name"] = name
			h.newKPI(t, chen, v)
		}
		mustContain(t, h.record(t, chen, "deploys 5"), "Several KPIs match `deploys`", "`deploys-weekly` (Platform)", "`deploys-failed` (Platform)", "exact name")
		mustContain(t, h.record(t, chen, "deploys-weekly 97"), "Recorded 97% for deploys-weekly")
		mustContain(t, h.record(t, chen, "backlog 5"), "Only the owner of *ticket-backlog*, <@U0BOB>, or a lead of *Platform* can record it", "Ask <@U0ALICE>")
	})
	t.Run("permission", func(t *testing.T) {
		n := h.count(t, `SELECT count(*) FROM kpi_readings`)
		mustContain(t, h.record(t, chen, "ticket-backlog 5"), "Only the owner of *ticket-backlog*, <@U0BOB>, or a lead of *Platform* can record it", "Ask <@U0ALICE>")
		if got := h.count(t, `SELECT count(*) FROM kpi_readings`); got != n {
			t.Errorf("a refused reading was stored")
		}
		mustContain(t, h.record(t, alice, "ticket-backlog 12"), "Recorded 12 tickets") // a lead may
	})
	t.Run("edit and archive", func(t *testing.T) {
		mustContain(t, h.command(t, chen, demoChannel, "kpi edit ticket-backlog"), "Only the owner of *ticket-backlog*")
		mustContain(t, h.command(t, bob, demoChannel, "kpi edit"), "Give the KPI's name")
		view := h.openModal(t, bob, "kpi edit ticket-backlog")
		if view.CallbackID != "kpi_edit" {
			t.Fatalf("got view %q, want kpi_edit", view.CallbackID)
		}
		mustContain(t, string(view.JSON), `"initial_value":"ticket-backlog"`, `"initial_value":"5,000"`)
		v := values{"name": "ticket-backlog", "unit": "tickets", "warning": "4k", "critical": "8k"}
		h.mustRefuse(t, bob, view, v.with(values{"owner": slackemu.UserSelect(dana)}), "owner", "<@U0DANA> isn't in Platform")
		before := h.p.seen(bob, demoChannel)
		if errs := h.submitErrors(t, bob, view, v); errs != nil {
			t.Fatalf("edit refused: %v", errs)
		}
		if _, err := h.p.nextMessage(ctx, bob, demoChannel, before); err != nil {
			t.Fatal(err)
		}
		k, err := h.main.Store.KPI(ctx, id)
		if err != nil || k.Warning != 4000 || k.Critical != 8000 || k.Direction != okr.LowerIsBetter {
			t.Fatalf("after edit: got %+v, %v", k, err)
		}
		mustContain(t, h.command(t, chen, demoChannel, "kpi archive ticket-backlog"), "Only the owner")
		mustContain(t, h.command(t, bob, demoChannel, "kpi archive ticket-backlog"), "Archived the KPI *ticket-backlog*")
		mustContain(t, h.record(t, bob, "ticket-backlog 5"), "No KPI called `ticket-backlog`")
	})
}

func TestKPIAlerts(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.withTeam(t)
	h.newKPI(t, bob, goodKPI())
	team := h.platform(t)
	ctx := context.Background()
	events := func() int { return h.count(t, `SELECT count(*) FROM alert_events`) }
	open := func() []okr.Alert {
		t.Helper()
		as, err := h.main.Store.OpenAlerts(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}

	mustContain(t, h.record(t, bob, "on-time-delivery 97"), "Recorded 97% for on-time-delivery: 🟢 green")
	if n := events(); n != 0 {
		t.Errorf("a healthy reading wrote %d alert events, want 0", n)
	}

	// A breach: one message.
	mustContain(t, h.record(t, bob, "on-time-delivery 93%"), "Recorded 93% for on-time-delivery: 🟡 yellow, below the warning 95%")
	m := h.waitAlerts(t, demoChannel, 1)
	mustContain(t, m.Text, "🟡 *on-time-delivery* dropped to warning: *93%* (warning below 95%, critical below 90%)", "owner <@U0BOB>", "trend 97% → 93%")
	if as := open(); len(as) != 1 || as[0].Level != okr.Yellow {
		t.Fatalf("got open alerts %+v, want one yellow", as)
	}

	// The state holds: the reading is stored, nothing is announced.
	readings := h.count(t, `SELECT count(*) FROM kpi_readings`)
	h.record(t, bob, "on-time-delivery 93%")
	h.record(t, bob, "on-time-delivery 94")
	if got := h.count(t, `SELECT count(*) FROM kpi_readings`); got != readings+2 {
		t.Errorf("got %d readings, want %d", got, readings+2)
	}
	if n := events(); n != 1 {
		t.Errorf("got %d alert events while the state held, want 1", n)
	}

	// Worse: one message.
	mustContain(t, h.record(t, bob, "on-time-delivery 88"), "🔴 red, below the critical 90%")
	m = h.waitAlerts(t, demoChannel, 2)
	mustContain(t, m.Text, "🔴 *on-time-delivery* is now critical: *88%*")
	h.record(t, bob, "on-time-delivery 88") // the same reading twice: held
	if n := events(); n != 2 {
		t.Errorf("got %d alert events, want 2", n)
	}
	if as := open(); len(as) != 1 || as[0].Level != okr.Red {
		t.Fatalf("got open alerts %+v, want one red", as)
	}

	// Recovered: one message, and the alert is closed.
	h.record(t, bob, "on-time-delivery 96")
	m = h.waitAlerts(t, demoChannel, 3)
	mustContain(t, m.Text, "✅ *on-time-delivery* is healthy again at *96%*")
	if as := open(); len(as) != 0 {
		t.Errorf("got open alerts %+v after recovery, want none", as)
	}

	// The glance, the list and the App Home show its health.
	mustContain(t, h.command(t, bob, demoChannel, ""), "Your KPIs", "🟢 *on-time-delivery* — 96%")
	mustContain(t, h.command(t, chen, demoChannel, "list"), "KPIs", "on-time-delivery", "96%")

	// A redelivered event envelope changes nothing, and posts nothing.
	ack, err := h.emu.OpenHome(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.emu.WaitFor(wctx, func() bool { _, ok := h.emu.HomeView(bob); return ok }); err != nil {
		t.Fatal("bob's home was not published")
	}
	home, _ := h.emu.HomeView(bob)
	mustContain(t, string(home.JSON), "Your KPIs", "on-time-delivery", "96%")
	if _, err := h.emu.Redeliver(ctx, ack.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if err := h.logs.waitFor(wctx, "redelivered event ignored"); err != nil {
		t.Fatal("the redelivery was not recognised as one")
	}
	if n := len(h.alertPosts(demoChannel)); n != 3 {
		t.Errorf("got %d alert messages, want 3", n)
	}
	if n := h.count(t, `SELECT count(*) FROM alert_events WHERE state <> 'posted'`); n != 0 {
		t.Errorf("got %d alert events not posted, want 0", n)
	}
}

func TestKPIAlertUnpostable(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.emu.AddChannel(slackemu.Channel{ID: otherChannel, Name: "random", Members: []string{alice, bob, chen, dana, h.emu.BotUserID()}})
	h.withTeam(t)
	h.newKPI(t, bob, goodKPI())
	team := h.platform(t)
	// The team's channel turns private, without the bot.
	h.emu.AddChannel(slackemu.Channel{ID: demoChannel, Name: "platform", IsPrivate: true, Members: []string{alice, bob, chen, dana}})

	mustContain(t, h.command(t, bob, otherChannel, "kpi record on-time-delivery 91"), "Recorded 91% for on-time-delivery: 🟡")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dm slackemu.Message
	err := h.emu.WaitFor(ctx, func() bool {
		for _, m := range h.emu.DM(alice) {
			if strings.Contains(m.Text, "I couldn't post an alert") {
				dm = m
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal("the lead was not told that the alert could not be posted")
	}
	mustContain(t, dm.Text, "<#"+demoChannel+">", "/invite @okrbot", "*on-time-delivery* dropped to warning: *91%*")
	for _, u := range []string{bob, chen} {
		for _, m := range h.emu.DM(u) {
			if strings.Contains(m.Text, "I couldn't post an alert") {
				t.Errorf("%s, no lead, was told about the alert", u)
			}
		}
	}
	if n := len(h.alertPosts(demoChannel)); n != 0 {
		t.Errorf("got %d alert messages in the channel, want 0", n)
	}
	// The leads are told before the event is marked failed.
	failed := func() int { return h.count(t, `SELECT count(*) FROM alert_events WHERE state = 'failed'`) }
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for failed() != 1 && ctx.Err() == nil {
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	if n := failed(); n != 1 {
		t.Errorf("got %d failed alert events, want 1", n)
	}
	as, err := h.main.Store.OpenAlerts(context.Background(), team.ID)
	if err != nil || len(as) != 1 {
		t.Fatalf("got open alerts %v, %v, want the alert still open", as, err)
	}
}

func TestKPICheckin(t *testing.T) {
	h := mustStartAt(t, sunday)
	h.withOKRs(t)
	h.newKPI(t, bob, goodKPI())
	ks, err := h.main.Store.KPIsOwnedBy(context.Background(), bob)
	if err != nil || len(ks) != 1 {
		t.Fatalf("got %v, %v, want bob's KPI", ks, err)
	}
	input := "kpi_" + itoa(ks[0].ID) + "_value"

	// 10:00 in New York: bob's check-in asks for the KPI too.
	h.advance(t, jan(4, 15, 0))
	dm := h.onlyCheckinDM(t, bob)
	mustContain(t, dm.Text+slackemu.RenderBlocks(dm.Blocks), "KPIs due", "on-time-delivery", "no reading yet")
	view := h.openCheckin(t, bob, dm)
	mustContain(t, string(view.JSON), `"block_id":"`+input+`"`, "on-time-delivery (%)", "below 90%")

	form := fill(t, view, nil)
	form[input] = map[string]any{input: "about ninety"}
	ack := h.submitForm(t, bob, view, form)
	if ack.ResponseAction != "errors" {
		t.Fatalf("got response_action %q, want errors", ack.ResponseAction)
	}
	mustContain(t, ack.Errors[input], `"about ninety" is not a number`)

	form[input] = map[string]any{input: "93%"}
	if ack := h.submitForm(t, bob, view, form); ack.ResponseAction != "clear" {
		t.Fatalf("got response_action %q (errors %v), want clear", ack.ResponseAction, ack.Errors)
	}
	if c := h.lastCheckin(t, bob); c.State != "answered" {
		t.Errorf("got check-in %s, want answered", c.State)
	}
	rs, err := h.main.Store.Readings(context.Background(), ks[0].ID, 5)
	if err != nil || len(rs) != 1 || rs[0].Value != 93 || rs[0].UserID != bob {
		t.Fatalf("got readings %+v, %v, want bob's 93", rs, err)
	}
	h.waitDMSays(t, bob, dm.TS, "1 KPI reading recorded")
	m := h.waitAlerts(t, demoChannel, 1)
	mustContain(t, m.Text, "*on-time-delivery* dropped to warning: *93%*")
}
