package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/lib/pq" // the demo creates its database with plain SQL

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/bot"
	"github.com/okrbot/okrbot/internal/pgcluster"
	"github.com/okrbot/okrbot/slackemu"
)

// The demo's workspace.
const (
	demoChannel = "C0PLATFORM"
	alice       = "U0ALICE"
	bob         = "U0BOB"
	chen        = "U0CHEN"
	dana        = "U0DANA"
)

// demoStart is when the demo's story begins: a Sunday evening in UTC, the
// night before the first check-ins of the quarter.
var demoStart = time.Date(2027, 1, 3, 20, 0, 0, 0, time.UTC)

// defaultServerURL is the PostgreSQL server the demo and tests look for.
const defaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// demoDatabaseName is the database the demo owns and resets on each run.
const demoDatabaseName = "okrbot_demo"

// demo runs the real bot against the built-in Slack emulator and a real
// PostgreSQL, plays a scripted story and prints what people saw.
func demo(ctx context.Context, cfg Config, dbName string, stdout, stderr io.Writer) error {
	dbURL, cleanup, err := demoDatabase(ctx, cfg.DatabaseURL, dbName, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	// The story runs on a clock of its own, so a week passes in seconds.
	clock := clockwork.NewFakeClockAt(demoStart)
	emu := slackemu.New(slackemu.Options{Now: clock.Now})
	defer emu.Close()
	demoWorkspace(emu)

	cfg.SlackBotToken, cfg.SlackAppToken, cfg.SlackAPIURL = emu.BotToken(), emu.AppToken(), emu.APIURL()
	cfg.DatabaseURL, cfg.HTTPAddr = dbURL, "127.0.0.1:0"
	// Quiet unless asked: the transcript is the demo's output.
	level := slog.LevelWarn
	if os.Getenv("LOG_LEVEL") != "" {
		level = cfg.logLevel
	}
	m := NewMain(cfg, newLogger(stderr, level))
	m.Clock = clock
	rounds := newRounds()
	m.JobDone = rounds.JobDone
	defer m.Close()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { stop(); <-done }()

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-m.Ready():
	case err := <-done:
		done <- err
		return fmt.Errorf("the bot did not start: %w", err)
	case <-startCtx.Done():
		return errors.New("the bot did not start within 30 s")
	}
	if err := emu.WaitConnections(startCtx, bot.DefaultConnections); err != nil {
		return fmt.Errorf("the bot did not connect to the emulator: %w", err)
	}

	p := &player{emu: emu, clock: clock, rounds: rounds}
	if err := playStory(ctx, p); err != nil {
		fmt.Fprintln(stdout, "The demo stopped early; what people saw until then:")
		emu.WriteTranscript(stdout)
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(stdout, "What the people of the demo workspace saw:")
	fmt.Fprintln(stdout)
	emu.WriteTranscript(stdout)
	return writeChart(emu, chartFile, stdout)
}

// chartFile is where the demo writes the summary's chart.
var chartFile = filepath.Join(os.TempDir(), "okrbot-demo-summary-chart.png")

// writeChart writes the last chart uploaded (the summary's) to a file, and
// says where.
func writeChart(emu *slackemu.Server, name string, stdout io.Writer) error {
	files := emu.Files()
	for i := len(files) - 1; i >= 0; i-- {
		if strings.HasSuffix(files[i].Name, ".png") {
			if err := os.WriteFile(name, files[i].Content, 0o644); err != nil {
				return fmt.Errorf("demo: write the chart: %w", err)
			}
			fmt.Fprintf(stdout, "\nThe summary's chart (%s, %d KB) is in %s\n", files[i].Title, len(files[i].Content)>>10, name)
			return nil
		}
	}
	return errors.New("demo: the summary came without its chart")
}

// demoWorkspace adds the demo's people and channel to the emulator.
func demoWorkspace(emu *slackemu.Server) {
	emu.AddUser(slackemu.User{ID: alice, Name: "alice", RealName: "Alice Martin", TZ: "Europe/Berlin"})
	emu.AddUser(slackemu.User{ID: bob, Name: "bob", RealName: "Bob Osei", TZ: "America/New_York"})
	emu.AddUser(slackemu.User{ID: chen, Name: "chen", RealName: "Chen Wei", TZ: "Asia/Tokyo"})
	emu.AddUser(slackemu.User{ID: dana, Name: "dana", RealName: "Dana Cruz", TZ: "America/Los_Angeles"})
	emu.AddChannel(slackemu.Channel{ID: demoChannel, Name: "platform", Members: []string{alice, bob, chen, dana, emu.BotUserID()}})
}

// playStory is the demo's script: a team is created, people are added, an
// objective with key results is written (after a try the form refuses),
// someone is refused, a key result is added, and everything is listed; bob
// defines a KPI whose readings raise, worsen and recover an alert; then the
// first check-in week is played.
func playStory(ctx context.Context, p *player) error {
	steps := []func(context.Context, *player) error{
		func(ctx context.Context, p *player) error {
			_, err := p.slash(ctx, alice, demoChannel, "team create Platform")
			return err
		},
		func(ctx context.Context, p *player) error {
			_, err := p.slash(ctx, alice, demoChannel, "team add <@U0BOB|bob> <@U0CHEN|chen>")
			return err
		},
		func(ctx context.Context, p *player) error {
			_, err := p.slash(ctx, bob, demoChannel, "team add <@U0DANA|dana>") // refused: bob is no lead
			return err
		},
		newObjectiveStory,
		addKeyResultStory,
		moreOwnersStory,
		func(ctx context.Context, p *player) error {
			_, err := p.slash(ctx, bob, demoChannel, "list")
			return err
		},
		func(ctx context.Context, p *player) error {
			_, err := p.emu.OpenHome(ctx, alice)
			if err != nil {
				return err
			}
			wctx, cancel := p.waitCtx(ctx)
			defer cancel()
			return p.emu.WaitFor(wctx, func() bool { _, ok := p.emu.HomeView(alice); return ok })
		},
		kpiStory,
		checkinWeekStory,
		summaryStory,
	}
	for _, step := range steps {
		if err := step(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func newObjectiveStory(ctx context.Context, p *player) error {
	view, err := p.slashModal(ctx, alice, demoChannel, "new")
	if err != nil {
		return err
	}
	values := map[string]map[string]any{
		"title":      {"title": "Make support fast and friendly"},
		"kind":       {"kind": slackemu.Option{Value: "committed"}},
		"owner":      {"owner": slackemu.UserSelect(dana)}, // not in the team: refused
		"kr1_title":  {"kr1_title": "Reduce first response time"},
		"kr1_start":  {"kr1_start": "12"},
		"kr1_target": {"kr1_target": "12"}, // equal to the start: refused
		"kr1_unit":   {"kr1_unit": "h"},
	}
	ack, err := p.emu.SubmitView(ctx, alice, view.ID, values)
	if err != nil {
		return err
	}
	if !strings.Contains(string(ack.Payload), `"errors"`) {
		return fmt.Errorf("the form took a target equal to its start: %s", ack.Payload)
	}
	// Two more key results: the modal opens with room for one.
	for range 2 {
		if view, err = p.addKeyResult(ctx, alice, view); err != nil {
			return err
		}
	}
	values["owner"] = map[string]any{"owner": slackemu.UserSelect(alice)}
	values["kr1_target"] = map[string]any{"kr1_target": "4"}
	values["kr2_title"] = map[string]any{"kr2_title": "Raise customer satisfaction"}
	values["kr2_start"] = map[string]any{"kr2_start": "82%"}
	values["kr2_target"] = map[string]any{"kr2_target": "90%"}
	values["kr3_title"] = map[string]any{"kr3_title": "Launch the help center"}
	before := p.seen(alice, demoChannel)
	if _, err := p.emu.SubmitView(ctx, alice, view.ID, values); err != nil {
		return err
	}
	_, err = p.nextMessage(ctx, alice, demoChannel, before)
	return err
}

func addKeyResultStory(ctx context.Context, p *player) error {
	view, err := p.slashModal(ctx, chen, demoChannel, "kr add")
	if err != nil {
		return err
	}
	objective, err := firstOption(view.JSON, "objective")
	if err != nil {
		return err
	}
	values := map[string]map[string]any{
		"objective": {"objective": slackemu.Option{Value: objective}},
		"title":     {"title": "Cut the ticket backlog"},
		"start":     {"start": "340"},
		"target":    {"target": "100"},
		"unit":      {"unit": "tickets"},
	}
	ack, err := p.emu.SubmitView(ctx, chen, view.ID, values) // refused: chen neither owns it nor leads
	if err != nil {
		return err
	}
	if !strings.Contains(string(ack.Payload), `"errors"`) {
		return fmt.Errorf("chen was allowed to add a key result: %s", ack.Payload)
	}
	if _, err := p.emu.CloseView(ctx, chen, view.ID); err != nil {
		return err
	}
	view, err = p.slashModal(ctx, alice, demoChannel, "kr add")
	if err != nil {
		return err
	}
	values["owner"] = map[string]any{"owner": slackemu.UserSelect(chen)}
	before := p.seen(alice, demoChannel)
	if _, err := p.emu.SubmitView(ctx, alice, view.ID, values); err != nil {
		return err
	}
	_, err = p.nextMessage(ctx, alice, demoChannel, before)
	return err
}

// demoDatabase returns the URL of a fresh okrbot_demo database on the server
// that DATABASE_URL (or the local default) names, or on a throwaway cluster
// when no server answers and initdb is at hand.
func demoDatabase(ctx context.Context, serverURL, dbName string, stderr io.Writer) (string, func(), error) {
	if serverURL == "" {
		serverURL = defaultServerURL
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, usageError{errors.New("DATABASE_URL must be a postgres:// URL")}
	}
	dbURL, err := resetDatabase(ctx, u, dbName)
	if err == nil {
		return dbURL, func() {}, nil
	}
	if ok, reason := pgcluster.Available(); !ok {
		return "", nil, fmt.Errorf("no PostgreSQL answers at %s (%s), and no throwaway one can be started (%s): start PostgreSQL (e.g. `pg_ctlcluster 15 main start`) or set DATABASE_URL", u.Host, redactErr(err, u), reason)
	}
	fmt.Fprintf(stderr, "okrbot demo: no PostgreSQL at %s; starting a throwaway one\n", u.Host)
	c, err := pgcluster.Start(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("starting a throwaway PostgreSQL: %w", err)
	}
	cu, _ := url.Parse(c.URL("postgres"))
	dbURL, err = resetDatabase(ctx, cu, dbName)
	if err != nil {
		_ = c.Stop()
		return "", nil, err
	}
	return dbURL, func() { _ = c.Stop() }, nil
}

// resetDatabase drops and creates a database on the server of u and returns
// its URL.
func resetDatabase(ctx context.Context, u *url.URL, name string) (string, error) {
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return "", err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return "", err
	}
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("resetting database %s: %s", name, redactErr(err, u))
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("creating database %s: %s", name, redactErr(err, u))
	}
	d := *u
	d.Path = "/" + name
	return d.String(), nil
}

// redactErr returns err's text without the URL's password.
func redactErr(err error, u *url.URL) string {
	s := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		s = strings.ReplaceAll(s, p, "xxxxx")
	}
	return s
}

// firstOption returns the value of the first option of a view's select.
func firstOption(view []byte, actionID string) (string, error) {
	var v struct {
		Blocks []struct {
			Element struct {
				ActionID string `json:"action_id"`
				Options  []struct {
					Value string `json:"value"`
				} `json:"options"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		return "", err
	}
	for _, b := range v.Blocks {
		if b.Element.ActionID == actionID && len(b.Element.Options) > 0 {
			return b.Element.Options[0].Value, nil
		}
	}
	return "", fmt.Errorf("the view has no options for %s", actionID)
}

// moreOwnersStory gives bob and dana key results of their own, and sends
// dana away for the first week.
func moreOwnersStory(ctx context.Context, p *player) error {
	if _, err := p.slash(ctx, alice, demoChannel, "team add <@U0DANA|dana>"); err != nil {
		return err
	}
	for _, kr := range []map[string]map[string]any{
		{"title": {"title": "Publish the support runbook"}, "owner": {"owner": slackemu.UserSelect(bob)}},
		{"title": {"title": "Answer tickets within the SLA"}, "owner": {"owner": slackemu.UserSelect(dana)},
			"start": {"start": "75"}, "target": {"target": "90"}, "unit": {"unit": "%"}},
	} {
		view, err := p.slashModal(ctx, alice, demoChannel, "kr add")
		if err != nil {
			return err
		}
		objective, err := firstOption(view.JSON, "objective")
		if err != nil {
			return err
		}
		kr["objective"] = map[string]any{"objective": slackemu.Option{Value: objective}}
		before := p.seen(alice, demoChannel)
		if _, err := p.emu.SubmitView(ctx, alice, view.ID, kr); err != nil {
			return err
		}
		if _, err := p.nextMessage(ctx, alice, demoChannel, before); err != nil {
			return err
		}
	}
	_, err := p.slash(ctx, dana, demoChannel, "away until 2027-01-08")
	return err
}

// checkinWeekStory plays the first check-in week: DMs at 10:00 in Tokyo,
// Berlin and New York, a skip, an answer after a refused value, dana away,
// a reminder for bob, and bob's miss when the week closes.
func checkinWeekStory(ctx context.Context, p *player) error {
	// 10:00 in Tokyo: chen's check-in; chen skips the week.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 4, 1, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	dm, err := p.waitDM(ctx, chen, 1)
	if err != nil {
		return err
	}
	if _, err := p.emu.ClickButton(ctx, chen, dm.Ref(), "checkin_skip"); err != nil {
		return err
	}
	if err := p.waitDMText(ctx, chen, "skipped"); err != nil {
		return err
	}

	// 10:00 in Berlin: alice checks in, after the form refuses a value.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	if dm, err = p.waitDM(ctx, alice, 1); err != nil {
		return err
	}
	view, err := p.clickForModal(ctx, alice, dm, "checkin_open")
	if err != nil {
		return err
	}
	answers, err := checkinAnswers(view.JSON, map[string]string{
		"Reduce first response time":  "9.5",
		"Raise customer satisfaction": "84%",
	})
	if err != nil {
		return err
	}
	bad := map[string]map[string]any{}
	for k, v := range answers {
		bad[k] = v
	}
	first := firstValueInput(view.JSON)
	bad[first] = map[string]any{first: "about ten"}
	ack, err := p.emu.SubmitView(ctx, alice, view.ID, bad)
	if err != nil {
		return err
	}
	if !strings.Contains(string(ack.Payload), `"errors"`) {
		return fmt.Errorf("the check-in took %q as a number", "about ten")
	}
	if _, err := p.emu.SubmitView(ctx, alice, view.ID, answers); err != nil {
		return err
	}
	if err := p.waitDMText(ctx, alice, "Thanks!"); err != nil {
		return err
	}

	// 10:00 in New York: bob's check-in, which he leaves unanswered.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 4, 15, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	if _, err := p.waitDM(ctx, bob, 1); err != nil {
		return err
	}
	// 10:00 in Los Angeles: dana is away, so no DM.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 4, 18, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	// A day later: one reminder for bob.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 5, 15, 1, 0, 0, time.UTC)); err != nil {
		return err
	}
	if _, err := p.waitDM(ctx, bob, 2); err != nil {
		return err
	}
	// Friday 16:00: the team's weekly digest in its channel.
	if err := p.advanceTo(ctx, time.Date(2027, 1, 8, 16, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	if err := p.waitChannelText(ctx, demoChannel, "Weekly digest of Platform"); err != nil {
		return err
	}
	// A week later: the next check-ins go out at 10:00 in Tokyo, Berlin
	// and New York, where bob's first one closes as missed.
	for _, hour := range []int{1, 9, 15} {
		if err := p.advanceTo(ctx, time.Date(2027, 1, 11, hour, 0, 0, 0, time.UTC)); err != nil {
			return err
		}
	}
	return p.waitDMText(ctx, bob, "closed without an answer")
}

// summaryStory has alice post the quarter's summary so far, with its chart.
func summaryStory(ctx context.Context, p *player) error {
	if _, err := p.slash(ctx, alice, demoChannel, "summary"); err != nil {
		return err
	}
	return p.waitChannelText(ctx, demoChannel, "Quarterly summary of Platform")
}

// checkinAnswers fills a check-in modal: the given values by key result
// title (others keep theirs), milestones done, each confidence 7, and a blocker.
func checkinAnswers(view []byte, values map[string]string) (map[string]map[string]any, error) {
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Label   struct {
				Text string `json:"text"`
			} `json:"label"`
			Element struct {
				Type         string `json:"type"`
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		return nil, err
	}
	out := map[string]map[string]any{}
	for _, b := range v.Blocks {
		id := b.BlockID
		switch {
		case strings.HasSuffix(id, "_value") && b.Element.Type == "static_select":
			out[id] = map[string]any{id: slackemu.Option{Value: "1"}}
		case strings.HasSuffix(id, "_value"):
			value := b.Element.InitialValue
			for title, x := range values {
				if strings.HasPrefix(b.Label.Text, title) {
					value = x
				}
			}
			out[id] = map[string]any{id: value}
		case strings.HasSuffix(id, "_conf"):
			out[id] = map[string]any{id: slackemu.Option{Value: "7"}}
		case id == "blockers":
			out[id] = map[string]any{id: "Waiting on the new ticketing plan from procurement."}
		}
	}
	return out, nil
}

// firstValueInput returns the block id of a check-in modal's first text value.
func firstValueInput(view []byte) string {
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Type string `json:"type"`
			} `json:"element"`
		} `json:"blocks"`
	}
	_ = json.Unmarshal(view, &v)
	for _, b := range v.Blocks {
		if strings.HasSuffix(b.BlockID, "_value") && b.Element.Type == "plain_text_input" {
			return b.BlockID
		}
	}
	return ""
}

// kpiStory has bob define the KPI on-time-delivery (after the form refuses
// thresholds the wrong way round) and record four weeks of it: 97% (fine),
// 93% (a warning in #platform), 88% (now critical) and 96% (healthy again).
func kpiStory(ctx context.Context, p *player) error {
	view, err := p.slashModal(ctx, bob, demoChannel, "kpi new")
	if err != nil {
		return err
	}
	values := map[string]map[string]any{
		"name":        {"name": "on-time-delivery"},
		"unit":        {"unit": "%"},
		"direction":   {"direction": slackemu.Option{Value: "higher_is_better"}},
		"warning":     {"warning": "90%"},
		"critical":    {"critical": "95%"}, // above the warning: refused
		"cadence":     {"cadence": slackemu.Option{Value: "weekly"}},
		"data_source": {"data_source": "Shipping dashboard, weekly on-time rate"},
	}
	ack, err := p.emu.SubmitView(ctx, bob, view.ID, values)
	if err != nil {
		return err
	}
	if !strings.Contains(string(ack.Payload), `"errors"`) {
		return fmt.Errorf("the KPI form took a critical threshold above the warning one: %s", ack.Payload)
	}
	values["warning"] = map[string]any{"warning": "95%"}
	values["critical"] = map[string]any{"critical": "90%"}
	before := p.seen(bob, demoChannel)
	if _, err := p.emu.SubmitView(ctx, bob, view.ID, values); err != nil {
		return err
	}
	if _, err := p.nextMessage(ctx, bob, demoChannel, before); err != nil {
		return err
	}
	for _, r := range []struct{ value, alert string }{
		{"97%", ""},
		{"93%", "dropped to warning"},
		{"88%", "is now critical"},
		{"96%", "is healthy again"},
	} {
		if _, err := p.slash(ctx, bob, demoChannel, "kpi record on-time-delivery "+r.value); err != nil {
			return err
		}
		if r.alert == "" {
			continue
		}
		if err := p.waitChannelText(ctx, demoChannel, r.alert); err != nil {
			return err
		}
	}
	return nil
}
