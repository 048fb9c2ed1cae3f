package bot

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

func blocksJSON(t *testing.T, blocks []slack.Block) string {
	t.Helper()
	js, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	// Undo JSON's escaping of <, > and & so tests read like Slack.
	s := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(js))
	return s
}

func mustHave(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

func TestSparkline(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want string
	}{
		{nil, ""},
		{[]float64{1, 2, 3}, "▁▅█"},
		{[]float64{5, 5}, "▅▅"},
		{[]float64{97, 93, 88, 96}, "█▅▁▇"},
	} {
		if got := sparkline(tt.in); got != tt.want {
			t.Errorf("sparkline(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChange(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		now    float64
		before *float64
		want   string
	}{
		{0.62, f(0.54), "▲ 8 pts"},
		{0.5, f(0.53), "▼ 3 pts"},
		{0.5, f(0.502), "no change"},
		{0.5, nil, "new since the last digest"},
	} {
		if got := change(tt.now, tt.before); got != tt.want {
			t.Errorf("change(%v, %v) = %q, want %q", tt.now, tt.before, got, tt.want)
		}
	}
}

func quarter2027Q1() okr.Period {
	p, err := okr.ParsePeriod("2027-Q1", time.January, time.UTC)
	if err != nil {
		panic(err)
	}
	return p
}

func TestDigestBlocks(t *testing.T) {
	p := quarter2027Q1()
	at := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	prev := 0.54
	d := &okr.Digest{
		Team: okr.Team{Name: "Platform"}, Period: p, At: at, Since: at.AddDate(0, 0, -7),
		Objectives: []okr.DigestObjective{
			{Objective: okr.Objective{Title: "Ship <fast>", Kind: okr.Committed, OwnerID: "UA"}, Progress: 0.62, Previous: &prev},
		},
		AtRisk: []okr.KeyResult{{Title: "Cut p99", OwnerID: "UB", Confidence: 3, Start: 10, Target: 0, Current: 5}},
		KPIs: []okr.KPIStatus{
			{KPI: okr.KPI{Name: "uptime", Unit: "%", OwnerID: "UC"}, Latest: &okr.Reading{Value: 99.5}, Health: okr.Yellow, Trend: []float64{99.9, 99.5}},
			{KPI: okr.KPI{Name: "nps", OwnerID: "UD"}},
		},
		Blockers:      []okr.Blocker{{UserID: "UB", Text: "waiting on\nvendor"}},
		Participation: okr.Participation{Answered: []string{"UB", "UA"}, Missed: []string{"UE"}, Away: []string{"UF"}},
	}
	got := blocksJSON(t, digestBlocks(d))
	mustHave(t, got,
		"Weekly digest · Platform · 2027-Q1",
		"Feb 8 – Feb 15", "45 days left",
		"*Ship &lt;fast&gt;*", "`██████░░░░` *62%* · ▲ 8 pts",
		"🔴 *Cut p99* — off track · 50% · <@UB> · confidence 3/10",
		"🟡 *uptime* — 99.5% · █▁ · <@UC>", "⚪ *nps* — no reading yet",
		"> waiting on\\n> vendor\\n— <@UB>",
		"✅ 2 of 3 checked in: <@UA> and <@UB>", "❌ missed: <@UE>", "🌴 away: <@UF>",
	)

	empty := blocksJSON(t, digestBlocks(&okr.Digest{Team: okr.Team{Name: "Empty"}, Period: p, At: at}))
	mustHave(t, empty, "Nothing to report for *Empty* yet", "/okr new")
}

func TestLongDigestGoesOnInItsThread(t *testing.T) {
	p := quarter2027Q1()
	at := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	d := &okr.Digest{Team: okr.Team{Name: "Big"}, Period: p, At: at, Since: at.AddDate(0, 0, -7)}
	for i := range 120 {
		d.Objectives = append(d.Objectives, okr.DigestObjective{Objective: okr.Objective{Title: "Objective " + strconv.Itoa(i), Kind: okr.Aspirational, OwnerID: "UA"}})
	}
	blocks := digestBlocks(d)
	parts := splitMessage(blocks)
	if len(parts) < 3 {
		t.Fatalf("%d blocks in %d messages, want at least 3", len(blocks), len(parts))
	}
	seen := 0
	for i, part := range parts {
		if len(part) > maxMessageBlocks {
			t.Errorf("message %d has %d blocks", i, len(part))
		}
		js := blocksJSON(t, part)
		seen += strings.Count(js, "*Objective ")
	}
	if seen != 120 {
		t.Errorf("%d objectives shown, want all 120", seen)
	}
	mustHave(t, blocksJSON(t, parts[0]), "Continued in the thread")
	mustHave(t, blocksJSON(t, parts[len(parts)-1]), "Participation", "*Objective 119*")
}

func TestSummaryBlocks(t *testing.T) {
	p := quarter2027Q1()
	s := &okr.Summary{
		Team: okr.Team{Name: "Platform"}, Period: p, Closed: true,
		Objectives: []okr.ObjectiveScore{
			{
				Objective: okr.Objective{Title: "Be fast", Kind: okr.Committed, OwnerID: "UA"},
				Score:     1, Colour: okr.Green, Achieved: true,
				KRs: []okr.KRScore{{KeyResult: okr.KeyResult{Title: "p99", Kind: okr.Metric, Unit: "ms", Start: 400, Target: 200}, Final: 180, Score: 1}},
			},
			{
				Objective: okr.Objective{Title: "Delight", Kind: okr.Aspirational, OwnerID: "UB"},
				Score:     0.4, Colour: okr.Yellow, CarryOver: true,
				KRs: []okr.KRScore{{KeyResult: okr.KeyResult{Title: "launch", Kind: okr.Milestone, Target: 1}, Final: 0, Score: 0}},
			},
		},
		KPIs:     []okr.KPIShare{{KPI: okr.KPI{Name: "uptime"}, Green: 0.75, Yellow: 0.2, Red: 0.05, Readings: 12}},
		Answered: 40, Expected: 52,
	}
	got := blocksJSON(t, summaryBlocks(s, "F123"))
	mustHave(t, got,
		"Quarterly summary · Platform · 2027-Q1", "closed: scores are final",
		"🟢 *Be fast* — score *1.0* · committed · *met* ✓",
		"• p99: 400 ms → 180 ms (target 200 ms) · 1.0",
		"🟡 *Delight* — score *0.4* · aspirational · *not a success*",
		"• launch: not done · 0.0",
		"*To carry over*", "/okr quarter carry 2027-Q1", "• *Delight* (0.4)",
		"*uptime* — 🟢 75% · 🟡 20% · 🔴 5% of the time (12 readings)",
		"40 of 52 check-ins answered (77%)",
		`"slack_file":{"id":"F123"}`,
	)
	if strings.Contains(blocksJSON(t, summaryBlocks(s, "")), "slack_file") {
		t.Error("a summary without a chart shows an image")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Platform": "platform", "Customer  Support!": "customer-support", "日本": "team", "  a--b ": "a-b"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
