// Package bot is okrbot's Slack transport: it holds the Socket Mode
// connection, routes envelopes, parses /okr commands, builds Block Kit and
// calls the domain (okr) and, through the Store interface it declares, the
// database.
//
// It is the only package of okrbot that imports slack-go, and it writes no SQL.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/time/rate"

	"github.com/okrbot/okrbot/okr"
)

// Config is what the bot needs to run.
type Config struct {
	BotToken string // xoxb-
	AppToken string // xapp-
	// APIURL is the base of every Web API call, with a trailing slash.
	APIURL string
	// FiscalYearStart is the month the fiscal year starts in.
	FiscalYearStart time.Month
	// Location is the time zone of people Slack gives none, and of periods.
	Location *time.Location
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ShutdownGrace bounds how long in-flight work may run after Run's
	// context ends; 10 s when zero.
	ShutdownGrace time.Duration
	// HTTPClient is used for the Web API and response URLs; a client with a
	// 10 s timeout when nil.
	HTTPClient *http.Client
	// CheckinsNow asks the scheduler to deliver due check-ins at once.
	CheckinsNow func()
	// AlertsNow asks the scheduler to post pending alerts at once.
	AlertsNow func()
	// ReportsNow asks the scheduler to post pending digests and summaries
	// at once.
	ReportsNow func()
	// Chart draws a quarterly summary's chart as PNG; summaries have no
	// chart when nil.
	Chart func(*okr.Summary) ([]byte, error)
	// NoRateLimit turns the bot's own Slack rate limiter off, for
	// benchmarks against an emulator without limits.
	NoRateLimit bool
	// Observer is told what the bot does, for metrics; nothing when nil.
	Observer Observer
	// Connections is how many Socket Mode connections to hold; Slack spreads
	// envelopes over them, so bursts are read and parsed in parallel.
	// DefaultConnections when zero; Slack allows 10 per app across every replica.
	Connections int
}

// DefaultConnections is how many Socket Mode connections a bot holds unless
// told otherwise.
const DefaultConnections = 2

// conn is one Socket Mode connection.
type conn struct {
	sm        *socketmode.Client
	connected atomic.Bool // Slack said hello on it
	opened    atomic.Bool // the socket opened and no hello came yet
	refusals  atomic.Int32
}

// incoming is an event and the connection it came on.
type incoming struct {
	c   *conn
	evt socketmode.Event
}

// Bot is a running okrbot Slack app.
type Bot struct {
	cfg    Config
	api    *slack.Client
	conns  []*conn
	store  Store
	log    *slog.Logger
	people *people

	// followUps bounds the work done after acks; submissions bounds the
	// view submissions being checked before their ack; triggered bounds
	// slash commands and button clicks, whose trigger_id (to open a modal)
	// lives 3 s and must not wait behind follow-ups held by Slack's limits.
	// followUps and triggered are small (half the cores): work beyond the
	// cores only slows the acks of a burst.
	followUps, submissions, triggered chan struct{}
	// gate holds work after acks back while envelopes wait for theirs.
	gate *ackGate

	commands map[string]commandHandler
	actions  map[string]actionHandler
	views    map[string]viewHandler
	events   map[string]eventHandler

	work sync.WaitGroup
	// teams caches teams for DMs and alerts (teamOf).
	teams sync.Map
	// homes holds when each person's App Home was last published, and
	// homeRefreshes bounds how often one is refreshed after a change.
	homes         sync.Map
	homeRefreshes *rate.Limiter
	// prepared holds the DMs of check-ins loaded with their batch
	// (PrepareCheckins), by check-in id.
	prepared sync.Map
}

// New returns a bot that talks to Slack through cfg.APIURL and keeps its
// state in store.
func New(cfg Config, store Store) *Bot {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.FiscalYearStart == 0 {
		cfg.FiscalYearStart = time.January
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	client := *cfg.HTTPClient
	client.Transport = newLimitedTransport(client.Transport, !cfg.NoRateLimit, cfg.Observer)
	cfg.HTTPClient = &client
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	api := slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionRetry(3),
	)
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultConnections
	}
	b := &Bot{cfg: cfg, api: api, store: store, log: cfg.Logger}
	for range cfg.Connections {
		b.conns = append(b.conns, &conn{sm: socketmode.New(api)})
	}
	b.people = newPeople(api, cfg.Now)
	// A refresh a second at most, with bursts of ten: well within the 100
	// views.publish a minute Slack allows, leaving room for people who
	// open their App Home.
	b.homeRefreshes = rate.NewLimiter(rate.Every(time.Second), 10)
	procs := runtime.GOMAXPROCS(0)
	b.followUps = make(chan struct{}, max(1, procs/2))
	b.submissions = make(chan struct{}, 4*procs)
	b.gate = newAckGate()
	b.triggered = make(chan struct{}, max(1, procs/2))
	b.commands, b.actions = b.commandHandlers(), b.actionHandlers()
	b.views, b.events = b.viewHandlers(), b.eventHandlers()
	return b
}

// Connected reports whether a Socket Mode connection is up.
func (b *Bot) Connected() bool {
	for _, c := range b.conns {
		if c.connected.Load() {
			return true
		}
	}
	return false
}

// Run connects to Slack and serves envelopes until ctx ends or the
// connection fails for good (a revoked or invalid token). When ctx ends it
// takes no new envelope, lets the work in flight finish for at most
// ShutdownGrace, and returns nil.
func (b *Bot) Run(ctx context.Context) error {
	// Work outlives ctx by the grace period, so a shutdown does not cut a
	// half-done reply short.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	// Every connection runs until ctx ends or one fails for good (a refused
	// token fails them all alike).
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, len(b.conns))
	events := make(chan incoming)
	for _, c := range b.conns {
		go func() { runErr <- c.sm.RunContext(runCtx) }()
		go func() {
			for {
				select {
				case evt := <-c.sm.Events:
					if evt.Request != nil && isEnvelope(evt.Type) {
						b.gate.received()
					}
					select {
					case events <- incoming{c, evt}:
					case <-runCtx.Done():
						return
					}
				case <-runCtx.Done():
					return
				}
			}
		}()
	}

	for {
		select {
		case in := <-events:
			if ctx.Err() != nil {
				if in.evt.Request != nil && isEnvelope(in.evt.Type) {
					b.gate.acked() // not taken: Slack redelivers what is not acked
				}
				continue
			}
			b.handleEvent(workCtx, in.c, in.evt)
		case err := <-runErr:
			stop()
			for _, c := range b.conns {
				c.connected.Store(false)
			}
			b.finish(cancelWork)
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bot: socket mode: %s", redactError(err))
		}
	}
}

// finish waits for in-flight work, at most ShutdownGrace, then cancels it.
func (b *Bot) finish(cancelWork context.CancelFunc) {
	done := make(chan struct{})
	go func() { b.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownGrace):
		b.log.Warn("shutdown grace period over; cancelling work in flight", slog.Duration("grace", b.cfg.ShutdownGrace))
		cancelWork()
		<-done
	}
}

// handleEvent reacts to one socketmode event: connection changes inline,
// envelopes in their own goroutine so the event channel keeps draining.
func (b *Bot) handleEvent(ctx context.Context, c *conn, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		// The socket is open, but Slack has not said hello yet: a socket it
		// refuses (too_many_websockets) is closed before any hello, and
		// slack-go reconnects without handing the disconnect on.
		c.opened.Store(true)
	case socketmode.EventTypeHello:
		c.opened.Store(false)
		c.refusals.Store(0)
		if !c.connected.Swap(true) {
			b.log.Info("connected to Slack")
		}
	case socketmode.EventTypeConnecting:
		c.connected.Store(false)
		if c.opened.Swap(false) {
			b.refused(c)
		}
	case socketmode.EventTypeConnectionError:
		c.connected.Store(false)
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			b.log.Warn("cannot connect to Slack; retrying", slog.Int("attempt", e.Attempt),
				slog.Duration("backoff", e.Backoff), slog.String("error", redactError(e.ErrorObj)))
		}
	case socketmode.EventTypeDisconnect:
		c.connected.Store(false)
		reason := ""
		if evt.Request != nil {
			reason = evt.Request.Reason
		}
		b.log.Info("Slack asked to reconnect", slog.String("reason", reason))
	case socketmode.EventTypeInvalidAuth:
		b.log.Error("Slack refused the app token (invalid_auth)")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		b.log.Warn("socket mode error", slog.String("type", string(evt.Type)))
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		// Everything but a view submission is acked here and now: its ack
		// never depends on the work. A submission's does (inline errors), so
		// it gets a pool of its own, never queued behind follow-up work.
		arrived := time.Now()
		pool := b.followUps
		switch {
		case isViewSubmission(evt):
			pool = b.submissions
		case evt.Type == socketmode.EventTypeSlashCommand, evt.Type == socketmode.EventTypeInteractive:
			// A click or command may open a modal: its trigger expires
			// in 3 s, so it does not queue behind follow-ups (chat.update
			// of answered check-ins waits on Slack's 50 a minute).
			pool = b.triggered
			b.ack(c, evt.Request, nil, arrived)
		default:
			b.ack(c, evt.Request, nil, arrived)
		}
		b.spawn(ctx, pool, evt.Request.EnvelopeID, func() { b.dispatch(ctx, c, evt, arrived) })
	}
}

// spawn runs f in its own goroutine once pool has room, and, unless f
// checks a submission before its ack, once the gate lets work through.
// Bounding the work in flight keeps the socket's reader on the CPU, so acks
// stay prompt however much follow-up work a burst brings.
func (b *Bot) spawn(ctx context.Context, pool chan struct{}, envelopeID string, f func()) {
	b.work.Add(1)
	go func() {
		defer b.work.Done()
		if pool != b.submissions {
			b.gate.wait(ctx)
		}
		pool <- struct{}{}
		defer func() { <-pool }()
		defer b.recoverPanic(envelopeID)
		f()
	}()
}

// isEnvelope reports whether events of type t are envelopes to ack.
func isEnvelope(t socketmode.EventType) bool {
	return t == socketmode.EventTypeSlashCommand || t == socketmode.EventTypeInteractive || t == socketmode.EventTypeEventsAPI
}

func isViewSubmission(evt socketmode.Event) bool {
	cb, ok := evt.Data.(slack.InteractionCallback)
	return ok && cb.Type == slack.InteractionTypeViewSubmission
}

// refused reports a socket Slack closed before its hello: the sign of
// too_many_websockets, the app holding Slack's 10 connections already. It
// says so on the first refusal and every tenth after, not at every retry.
func (b *Bot) refused(c *conn) {
	if n := c.refusals.Add(1); n == 1 || n%10 == 0 {
		b.log.Error("Slack closed a Socket Mode connection before saying hello: most likely too_many_websockets, "+
			"the app already has its 10 Socket Mode connections (replicas × SOCKET_MODE_CONNECTIONS). "+
			"This replica keeps doing scheduled work and keeps trying.", slog.Int("refusals", int(n)))
	}
}

func (b *Bot) recoverPanic(envelopeID string) {
	if r := recover(); r != nil {
		b.log.Error("panic handling envelope", slog.String("envelope_id", envelopeID),
			slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
	}
}

// dispatch does one envelope's work; all but view submissions are acked
// already.
func (b *Bot) dispatch(ctx context.Context, c *conn, evt socketmode.Event, arrived time.Time) {
	req := evt.Request
	log := b.log.With(slog.String("envelope_id", req.EnvelopeID), slog.String("envelope_type", req.Type))
	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		if !b.firstTime(ctx, "envelope:"+req.EnvelopeID, log) {
			return
		}
		b.onSlashCommand(ctx, log, data)
	case slack.InteractionCallback:
		b.onInteraction(ctx, log, c, req, data, arrived)
	case slackevents.EventsAPIEvent:
		key := "envelope:" + req.EnvelopeID
		if cb, ok := data.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			key = "event:" + cb.EventID
		}
		if !b.firstTime(ctx, key, log) {
			b.cfg.Observer.Redelivered(req.Type)
			log.Info("redelivered event ignored", slog.Int("retry_attempt", req.RetryAttempt))
			return
		}
		b.onEventsAPI(ctx, log, data)
	default:
		log.Warn("envelope with an unexpected payload")
	}
}

// ack answers an envelope on the connection it came on; payload may be
// nil. since is when the envelope reached the bot.
func (b *Bot) ack(c *conn, req *socketmode.Request, payload any, since time.Time) {
	var err error
	if payload == nil {
		err = c.sm.Ack(*req)
	} else {
		err = c.sm.Ack(*req, payload)
	}
	b.gate.acked()
	outcome := "ok"
	if err != nil {
		outcome = "error"
		b.log.Error("ack failed", slog.String("envelope_id", req.EnvelopeID), slog.String("error", err.Error()))
	}
	b.cfg.Observer.Envelope(req.Type, outcome, time.Since(since))
}

// firstTime claims key and reports whether this is its first delivery. When
// the database cannot say, it errs on the side of doing the work.
func (b *Bot) firstTime(ctx context.Context, key string, log *slog.Logger) bool {
	ok, err := b.store.ClaimEvent(ctx, key)
	if err != nil {
		log.Error("cannot record envelope", slog.String("error", err.Error()))
		return true
	}
	return ok
}

// now returns the current time in the default location.
func (b *Bot) now() time.Time { return b.cfg.Now().In(b.cfg.Location) }

// currentQuarter returns the fiscal quarter of now.
func (b *Bot) currentQuarter() okr.Period {
	return okr.QuarterOf(b.now(), b.cfg.FiscalYearStart)
}

// userMessage returns the words to show a person for err, logging it when it
// is ours rather than theirs.
func (b *Bot) userMessage(log *slog.Logger, err error) string {
	var ue *UsageError
	if errors.As(err, &ue) {
		return ue.Problem
	}
	if okr.ErrorCode(err) == okr.EINTERNAL {
		log.Error("internal error", slog.String("error", err.Error()))
		if errors.Is(err, context.DeadlineExceeded) {
			return "That took too long on our side; nothing was changed. Please try again."
		}
		return "Sorry, something went wrong on our side and nothing was changed. Please try again in a moment."
	}
	return okr.ErrorMessage(err)
}

// redactError returns err's text with anything token-like cut out.
func redactError(err error) string {
	if err == nil {
		return ""
	}
	words := strings.Fields(err.Error())
	for i, w := range words {
		for _, p := range []string{"xoxb-", "xapp-", "xoxp-", "ticket="} {
			if j := strings.Index(w, p); j >= 0 {
				words[i] = w[:j] + p + "[redacted]"
			}
		}
	}
	return strings.Join(words, " ")
}
