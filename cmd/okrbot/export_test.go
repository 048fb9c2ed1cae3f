package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// erin is a workspace admin in no team.
const erin = "U0ERIN"

// exported is what one /okr export showed a person: the ephemeral replies
// and the files uploaded.
type exported struct {
	replies []string
	files   []slackemu.File
}

// reply returns the last reply.
func (e exported) reply() string {
	if len(e.replies) == 0 {
		return ""
	}
	return e.replies[len(e.replies)-1]
}

// export runs an /okr export command and waits for its last reply: the one
// after "Preparing…", or an error.
func (h *harness) export(tb testing.TB, user, text string) exported {
	tb.Helper()
	ctx := context.Background()
	before, files := len(h.emu.Ephemerals(user)), len(h.emu.Files())
	if _, err := h.emu.SlashCommand(ctx, user, demoChannel, "/okr", text); err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := h.emu.WaitFor(wctx, func() bool {
		e := h.emu.Ephemerals(user)
		return len(e) > before && !strings.HasPrefix(e[len(e)-1].Text, "⏳")
	})
	if err != nil {
		tb.Fatalf("/okr %s: no answer to %s: %v", text, user, err)
	}
	var out exported
	for _, m := range h.emu.Ephemerals(user)[before:] {
		out.replies = append(out.replies, m.Text)
	}
	out.files = h.emu.Files()[files:]
	return out
}

// onlyFile returns the one file an export uploaded, after checking it went
// to the person's DM with the bot under the quarter's name.
func (h *harness) onlyFile(tb testing.TB, user string, e exported, quarter string) slackemu.File {
	tb.Helper()
	if len(e.files) != 1 {
		tb.Fatalf("got %d files (replies %q), want 1", len(e.files), e.replies)
	}
	f := e.files[0]
	if want := h.emu.IMChannel(user); f.Channel != want {
		tb.Errorf("file shared to %q, want %s's DM %q", f.Channel, user, want)
	}
	if want := "okrbot-" + quarter + ".csv"; f.Name != want {
		tb.Errorf("file name: got %q, want %q", f.Name, want)
	}
	if want := "okrbot export " + quarter; f.Title != want {
		tb.Errorf("file title: got %q, want %q", f.Title, want)
	}
	dm := h.emu.DM(user)
	if len(dm) == 0 || dm[len(dm)-1].Text != f.InitialComment {
		tb.Errorf("the DM does not end with the file's comment %q", f.InitialComment)
	}
	return f
}

// parseExport checks a file is RFC 4180 CSV as the export writes it (UTF-8
// without a byte order mark, every line ending in CRLF, one header row) and
// returns its rows after the header.
func parseExport(tb testing.TB, content []byte) [][]string {
	tb.Helper()
	if !utf8.Valid(content) || bytes.HasPrefix(content, []byte("\xef\xbb\xbf")) {
		tb.Errorf("the file is not plain UTF-8: %q", content[:min(len(content), 16)])
	}
	if !bytes.HasSuffix(content, []byte("\r\n")) {
		tb.Errorf("the file does not end with CRLF: %q", content)
	}
	if n, crlf := bytes.Count(content, []byte("\n")), bytes.Count(content, []byte("\r\n")); n != crlf {
		tb.Errorf("got %d line feeds of which %d end CRLF, want every one", n, crlf)
	}
	r := csv.NewReader(bytes.NewReader(content))
	all, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("the file is not CSV: %v\n%s", err, content)
	}
	if len(all) == 0 || !reflect.DeepEqual(all[0], okr.ExportHeader()) {
		tb.Fatalf("header: got %q, want %q", all[:min(len(all), 1)], okr.ExportHeader())
	}
	want := []string{"type", "team", "objective", "key_result", "kpi", "user", "time", "value", "unit",
		"confidence", "status", "comment", "blockers", "checkin_state", "checkin_id"}
	if !reflect.DeepEqual(all[0], want) {
		tb.Errorf("header: got %q, want %q", all[0], want)
	}
	for i, row := range all[1:] {
		if reflect.DeepEqual(row, want) {
			tb.Errorf("row %d repeats the header", i+1)
		}
	}
	return all[1:]
}

func wantRows(tb testing.TB, got, want [][]string) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("got %d rows:\n%s\nwant %d:\n%s", len(got), quoteRows(got), len(want), quoteRows(want))
	}
}

func quoteRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strconv.Quote(strings.Join(r, "|")) + "\n")
	}
	return b.String()
}

// TestExport plays a week on 2027-Q1's clock: alice reads a KPI, chen's
// check-in goes unanswered, alice answers hers with comments that CSV must
// quote, and dana's Sales team reads a KPI of its own. Each person's export
// holds exactly what they may see.
func TestExport(t *testing.T) {
	t.Parallel()
	h := mustStartAt(t, sunday)
	h.emu.AddChannel(slackemu.Channel{ID: otherChannel, Name: "sales", Members: []string{alice, bob, chen, dana, h.emu.BotUserID()}})
	h.emu.AddUser(slackemu.User{ID: erin, Name: "erin", RealName: "Erin Admin", TZ: "UTC", IsAdmin: true})
	ctx := context.Background()

	t.Run("someone in no team is told how to join one", func(t *testing.T) {
		e := h.export(t, dana, "export")
		mustContain(t, e.reply(), "You're not in a team yet", "/okr team add")
		if len(e.files) != 0 || len(e.replies) != 1 {
			t.Errorf("got files %v and replies %q, want one reply and no file", e.files, e.replies)
		}
	})

	o := h.withOKRs(t)
	h.newKPI(t, alice, goodKPI())
	mustContain(t, h.record(t, alice, `on-time-delivery 96% Late trucks, "again" in Zürich`), "Recorded 96%")
	if _, err := h.p.slash(ctx, dana, otherChannel, "team create Sales"); err != nil {
		t.Fatal(err)
	}
	sales, err := h.main.Store.TeamByChannel(ctx, otherChannel)
	if err != nil {
		t.Fatal(err)
	}
	pipeline := &okr.KPI{TeamID: sales.ID, Name: "pipeline", OwnerID: dana, Unit: "k€", Direction: okr.HigherIsBetter,
		Warning: 100, Critical: 50, Cadence: okr.Monthly}
	if err := h.main.Store.CreateKPI(ctx, pipeline); err != nil {
		t.Fatal(err)
	}
	mustContain(t, h.command(t, dana, otherChannel, "kpi record pipeline 120.5 =1+2"), "Recorded")

	// Monday: chen's check-in goes out at 01:00 UTC and stays unanswered;
	// alice answers hers, sent at 09:00 UTC, half a minute later.
	h.advance(t, jan(4, 1, 0))
	h.advance(t, jan(4, 9, 0))
	view := h.openCheckin(t, alice, h.onlyCheckinDM(t, alice))
	metric, pct, milestone := o.alice[0], o.alice[1], o.alice[2]
	comments := map[int64]string{
		metric:    `Faster, but "first response" still counts the bot's reply, sadly.`,
		pct:       "Two surveys:\nCSAT up in Lyon, the café team is happy",
		milestone: "- live in 日本\n- 東京 next",
	}
	form := fill(t, view, map[int64]string{metric: "9.5", pct: "84%"})
	for kr, c := range comments {
		form[krInputID(kr, "comment")] = map[string]any{krInputID(kr, "comment"): c}
	}
	form["blockers"] = map[string]any{"blockers": `Waiting on "procurement", again.`}
	if ack := h.submitForm(t, alice, view, form); ack.ResponseAction != "clear" {
		t.Fatalf("check-in refused: %v", ack.Errors)
	}
	h.waitFor(t, "alice's check-in answered", func() bool { return len(h.krUpdates(t, alice)) == 3 })
	aliceCheckin, chenCheckin := itoa(h.lastCheckin(t, alice).ID), itoa(h.lastCheckin(t, chen).ID)

	const sun, mon1, mon9 = "2027-01-03T20:00:00Z", "2027-01-04T01:00:00Z", "2027-01-04T09:00:30Z"
	const fast, rt, csat, help = "Make support fast", "Reduce first response time", "Raise CSAT", "Launch the help center"
	reading := []string{"kpi_reading", "Platform", "", "", "on-time-delivery", alice, sun, "96", "%", "", "", `Late trucks, "again" in Zürich`, "", "", ""}
	salesReading := []string{"kpi_reading", "Sales", "", "", "pipeline", dana, sun, "120.5", "k€", "", "", "'=1+2", "", "", ""}
	platform := [][]string{
		reading,
		{"checkin", "Platform", "", "", "", chen, mon1, "", "", "", "", "", "", "sent", chenCheckin},
		{"checkin", "Platform", "", "", "", alice, mon9, "", "", "", "", "", `Waiting on "procurement", again.`, "answered", aliceCheckin},
		{"kr_update", "Platform", fast, rt, "", alice, mon9, "9.5", "h", "8", "on_track", comments[metric], "", "", aliceCheckin},
		{"kr_update", "Platform", fast, csat, "", alice, mon9, "84", "%", "8", "on_track", comments[pct], "", "", aliceCheckin},
		{"kr_update", "Platform", fast, help, "", alice, mon9, "1", "", "8", "on_track", "'" + comments[milestone], "", "", aliceCheckin},
	}

	var aliceFile slackemu.File
	t.Run("a lead gets their team's quarter", func(t *testing.T) {
		e := h.export(t, alice, "export 2027-Q1")
		if len(e.replies) != 2 || !strings.Contains(e.replies[0], "Preparing your export of 2027-Q1") {
			t.Errorf("replies: got %q, want Preparing… then the result", e.replies)
		}
		mustContain(t, e.reply(), "Sent you `okrbot-2027-Q1.csv` in a DM: 6 rows of 2027-Q1")
		aliceFile = h.onlyFile(t, alice, e, "2027-Q1")
		mustContain(t, aliceFile.InitialComment, "2027-Q1 (Jan 1 – Mar 31, 2027) for *Platform*",
			"6 rows (2 check-ins, 3 key result updates and 1 KPI reading)")
		wantRows(t, parseExport(t, aliceFile.Content), platform)
	})

	t.Run("the current quarter by default", func(t *testing.T) {
		e := h.export(t, alice, "export")
		f := h.onlyFile(t, alice, e, "2027-Q1")
		if !bytes.Equal(f.Content, aliceFile.Content) {
			t.Errorf("got\n%s\nwant the same as /okr export 2027-Q1:\n%s", f.Content, aliceFile.Content)
		}
	})

	t.Run("a member gets the same", func(t *testing.T) {
		f := h.onlyFile(t, bob, h.export(t, bob, "export 2027-q1"), "2027-Q1")
		wantRows(t, parseExport(t, f.Content), platform)
	})

	t.Run("another team sees only its own", func(t *testing.T) {
		f := h.onlyFile(t, dana, h.export(t, dana, "export 2027-Q1"), "2027-Q1")
		wantRows(t, parseExport(t, f.Content), [][]string{salesReading})
		mustContain(t, f.InitialComment, "for *Sales*: 1 row (0 check-ins, 0 key result updates and 1 KPI reading)")
	})

	t.Run("an admin sees every team", func(t *testing.T) {
		f := h.onlyFile(t, erin, h.export(t, erin, "export 2027-Q1"), "2027-Q1")
		all := append([][]string{reading, salesReading}, platform[1:]...)
		wantRows(t, parseExport(t, f.Content), all)
		mustContain(t, f.InitialComment, "for every team: 7 rows")
	})

	t.Run("an empty quarter is a header and a note", func(t *testing.T) {
		e := h.export(t, chen, "export 2026-Q4")
		mustContain(t, e.reply(), "nothing was recorded in 2026-Q4 yet, so it holds just the header")
		f := h.onlyFile(t, chen, e, "2026-Q4")
		if rows := parseExport(t, f.Content); len(rows) != 0 {
			t.Errorf("got rows %q, want none", rows)
		}
		mustContain(t, f.InitialComment, "2026-Q4 (Oct 1 – Dec 31, 2026)", "no check-ins, key result updates or KPI readings", "just its header row")
	})

	for _, tt := range []struct{ text, want string }{
		{"export 2027-Q5", "“2027-Q5” is not a quarter: write one like `/okr export 2027-Q1`"},
		{"export next", "“next” is not a quarter"},
		{"export 2027", "2027 is a whole year; an export holds one quarter"},
		{"export 1999-Q1", "“1999-Q1” is not a quarter"},
		{"export 2027-Q1 2027-Q2", "Give at most one period, like 2027-Q1."},
	} {
		t.Run(tt.text, func(t *testing.T) {
			e := h.export(t, alice, tt.text)
			mustContain(t, e.reply(), ":warning:", tt.want, "Usage")
			if len(e.files) != 0 || len(e.replies) != 1 {
				t.Errorf("got files %v and replies %q, want one error and no file", e.files, e.replies)
			}
		})
	}
}
