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
	"strings"
	"time"

	_ "github.com/lib/pq" // the demo creates its database with plain SQL

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

	emu := slackemu.New(slackemu.Options{})
	defer emu.Close()
	demoWorkspace(emu)

	cfg.SlackBotToken, cfg.SlackAppToken, cfg.SlackAPIURL = emu.BotToken(), emu.AppToken(), emu.APIURL()
	cfg.DatabaseURL, cfg.HTTPAddr = dbURL, "127.0.0.1:0"
	m := NewMain(cfg, newLogger(stderr, slog.LevelWarn))
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
	if err := emu.WaitConnections(startCtx, 1); err != nil {
		return fmt.Errorf("the bot did not connect to the emulator: %w", err)
	}

	p := &player{emu: emu}
	if err := playStory(ctx, p); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(stdout, "What the people of the demo workspace saw:")
	fmt.Fprintln(stdout)
	emu.WriteTranscript(stdout)
	return nil
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
// someone is refused, a key result is added, and everything is listed.
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
	ack, err := p.submit(ctx, alice, demoChannel, view, values)
	if err != nil {
		return err
	}
	if !strings.Contains(string(ack.Payload), `"errors"`) {
		return fmt.Errorf("the form took a target equal to its start: %s", ack.Payload)
	}
	values["owner"] = map[string]any{"owner": slackemu.UserSelect(alice)}
	values["kr1_target"] = map[string]any{"kr1_target": "4"}
	values["kr2_title"] = map[string]any{"kr2_title": "Raise customer satisfaction"}
	values["kr2_start"] = map[string]any{"kr2_start": "82%"}
	values["kr2_target"] = map[string]any{"kr2_target": "90%"}
	values["kr3_title"] = map[string]any{"kr3_title": "Launch the help center"}
	before := p.seen(alice, demoChannel)
	if _, err := p.submit(ctx, alice, demoChannel, view, values); err != nil {
		return err
	}
	_, err = p.confirmation(ctx, alice, demoChannel, before)
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
	ack, err := p.submit(ctx, chen, demoChannel, view, values) // refused: chen neither owns it nor leads
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
	if _, err := p.submit(ctx, alice, demoChannel, view, values); err != nil {
		return err
	}
	_, err = p.confirmation(ctx, alice, demoChannel, before)
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
