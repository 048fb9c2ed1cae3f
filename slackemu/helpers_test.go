package slackemu_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/okrbot/okrbot/slackemu"
)

// handler answers one Socket Mode event; it must ack requests itself.
type handler func(sm *socketmode.Client, evt socketmode.Event)

// testEnv is an emulator with a real slack-go Socket Mode client connected.
type testEnv struct {
	emu *slackemu.Server
	api *slack.Client
	sm  *socketmode.Client

	mu      sync.Mutex
	handle  handler
	hellos  int
	helloCh chan struct{}
}

func (e *testEnv) setHandler(h handler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handle = h
}

// mustStart starts an emulator and a connected slack-go client; both stop at test end.
func mustStart(tb testing.TB, opts slackemu.Options, h handler) *testEnv {
	tb.Helper()
	emu := slackemu.New(opts)
	api := slack.New(emu.BotToken(), slack.OptionAppLevelToken(emu.AppToken()), slack.OptionAPIURL(emu.APIURL()))
	sm := socketmode.New(api)
	env := &testEnv{emu: emu, api: api, sm: sm, handle: h, helloCh: make(chan struct{}, 10)}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				switch evt.Type {
				case socketmode.EventTypeHello:
					env.mu.Lock()
					env.hellos++
					env.mu.Unlock()
					env.helloCh <- struct{}{}
				case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
					env.mu.Lock()
					h := env.handle
					env.mu.Unlock()
					if h != nil {
						h(sm, evt)
					} else if evt.Request != nil {
						_ = sm.Ack(*evt.Request)
					}
				}
			}
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		emu.Close()
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := emu.WaitConnections(wctx, 1); err != nil {
		tb.Fatalf("bot did not connect: %v", err)
	}
	return env
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func addPeople(emu *slackemu.Server) {
	emu.AddUser(slackemu.User{ID: "UALICE", Name: "alice", RealName: "Alice Example", TZ: "Europe/Berlin", IsAdmin: true})
	emu.AddUser(slackemu.User{ID: "UBOB", Name: "bob", RealName: "Bob Example", TZ: "America/New_York"})
	emu.AddChannel(slackemu.Channel{ID: "CGENERAL", Name: "general", Members: []string{"UALICE", "UBOB"}})
	emu.AddChannel(slackemu.Channel{ID: "CSECRET", Name: "secret", IsPrivate: true, Members: []string{"UALICE"}})
	emu.AddChannel(slackemu.Channel{ID: "COLD", Name: "old", IsArchived: true})
}
