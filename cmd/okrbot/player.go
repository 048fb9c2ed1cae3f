package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/slackemu"
)

// player drives the Slack emulator as people would, and waits for what the
// bot shows them. The demo and the end-to-end tests share it.
type player struct {
	emu *slackemu.Server
	// clock is the bot's fake clock, when the story moves time.
	clock *clockwork.FakeClock
	// rounds tells when scheduled check-in rounds finished.
	rounds *rounds
	// wait bounds each wait for the bot; 10 s when zero.
	wait time.Duration
}

func (p *player) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := p.wait
	if d == 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// seen counts what a person can see in a channel, to notice the next thing.
type seen struct{ ephemerals, channel, views int }

func (p *player) seen(user, channel string) seen {
	return seen{len(p.emu.Ephemerals(user)), len(p.emu.Messages(channel)), len(p.emu.OpenViews(user))}
}

// slash runs a slash command and waits for the reply: a new message the
// person sees (ephemeral or in the channel). It fails if a modal opened instead.
func (p *player) slash(ctx context.Context, user, channel, text string) (slackemu.Message, error) {
	before := p.seen(user, channel)
	if _, err := p.emu.SlashCommand(ctx, user, channel, "/okr", text); err != nil {
		return slackemu.Message{}, fmt.Errorf("/okr %s: %w", text, err)
	}
	return p.nextMessage(ctx, user, channel, before)
}

// nextMessage waits for a message newer than before.
func (p *player) nextMessage(ctx context.Context, user, channel string, before seen) (slackemu.Message, error) {
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	var got slackemu.Message
	err := p.emu.WaitFor(wctx, func() bool {
		if e := p.emu.Ephemerals(user); len(e) > before.ephemerals {
			got = e[len(e)-1]
			return true
		}
		if m := p.emu.Messages(channel); len(m) > before.channel {
			got = m[len(m)-1]
			return true
		}
		return false
	})
	if err != nil {
		return got, fmt.Errorf("no reply to %s in %s: %w", user, channel, err)
	}
	return got, nil
}

// slashModal runs a slash command that opens a modal and returns the modal.
func (p *player) slashModal(ctx context.Context, user, channel, text string) (slackemu.View, error) {
	before := p.seen(user, channel)
	if _, err := p.emu.SlashCommand(ctx, user, channel, "/okr", text); err != nil {
		return slackemu.View{}, fmt.Errorf("/okr %s: %w", text, err)
	}
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	var view slackemu.View
	var reply slackemu.Message
	err := p.emu.WaitFor(wctx, func() bool {
		if v := p.emu.OpenViews(user); len(v) > before.views {
			view = v[len(v)-1]
			return true
		}
		if e := p.emu.Ephemerals(user); len(e) > before.ephemerals {
			reply = e[len(e)-1]
			return true
		}
		return false
	})
	switch {
	case err != nil:
		return view, fmt.Errorf("/okr %s opened no modal: %w", text, err)
	case view.ID == "":
		return view, fmt.Errorf("/okr %s answered instead of opening a modal: %s", text, reply.Text)
	}
	return view, nil
}

// newObjectiveModal opens the new-objective modal with /okr new and clicks
// its "Add a key result" button until it has krs key results to fill in.
func (p *player) newObjectiveModal(ctx context.Context, user, channel string, krs int) (slackemu.View, error) {
	view, err := p.slashModal(ctx, user, channel, "new")
	for n := 1; err == nil && n < krs; n++ {
		view, err = p.addKeyResult(ctx, user, view)
	}
	return view, err
}

// addKeyResult clicks "Add a key result" in the new-objective modal and
// returns the modal once the bot has updated it.
func (p *player) addKeyResult(ctx context.Context, user string, view slackemu.View) (slackemu.View, error) {
	if _, err := p.emu.ClickViewButton(ctx, user, view.ID, "objective_add_kr"); err != nil {
		return view, fmt.Errorf("add a key result: %w", err)
	}
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	updated := view
	err := p.emu.WaitFor(wctx, func() bool {
		v, ok := p.emu.ViewByID(view.ID)
		updated = v
		return ok && v.Hash != view.Hash
	})
	if err != nil {
		return view, fmt.Errorf("add a key result: the modal did not change: %w", err)
	}
	return updated, nil
}

// schedulerTimers is how many timers okrbot's scheduler waits on between
// runs: one per job (prune-events, sync-users, checkins, pace, reports).
const schedulerTimers = 5

// rounds records the start of the latest finished run of some jobs; a
// round at a time is over once each of them ran at that time or later. It
// is the scheduler's JobDone hook.
type rounds struct {
	mu   sync.Mutex
	want []string
	last map[string]time.Time
	done chan struct{} // closed and replaced at every finished round
}

// newRounds follows the jobs that run every minute: check-ins (a run on
// demand counts) and reports.
func newRounds() *rounds { return newRoundsOf("checkins", "reports") }

// newRoundsOf follows the named jobs.
func newRoundsOf(jobs ...string) *rounds {
	return &rounds{want: jobs, last: map[string]time.Time{}, done: make(chan struct{})}
}

// JobDone is the scheduler's hook.
func (r *rounds) JobDone(job string, started time.Time) {
	name := strings.TrimSuffix(job, "-now")
	if name == "alerts" || !slices.Contains(r.want, name) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if started.After(r.last[name]) {
		r.last[name] = started
	}
	close(r.done)
	r.done = make(chan struct{})
}

// waitRound waits for a run of each job followed that started at t or
// later to finish.
func (r *rounds) waitRound(ctx context.Context, t time.Time) error {
	for {
		r.mu.Lock()
		behind := false
		for _, j := range r.want {
			behind = behind || r.last[j].Before(t)
		}
		done := r.done
		r.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("no round of %s ran at %s: %w", strings.Join(r.want, " and "), t.Format(time.RFC3339), ctx.Err())
		}
	}
}

// advanceTo moves the fake clock to t once every scheduled job is waiting
// on it, and waits for the check-in round that runs at t to finish.
func (p *player) advanceTo(ctx context.Context, t time.Time) error {
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	if err := p.clock.BlockUntilContext(wctx, schedulerTimers); err != nil {
		return fmt.Errorf("the scheduler is not waiting: %w", err)
	}
	p.clock.Advance(t.Sub(p.clock.Now()))
	return p.rounds.waitRound(wctx, t)
}

// waitDM waits until a person has at least n DMs and returns the latest.
func (p *player) waitDM(ctx context.Context, user string, n int) (slackemu.Message, error) {
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	var m slackemu.Message
	err := p.emu.WaitFor(wctx, func() bool {
		dms := p.emu.DM(user)
		if len(dms) >= n {
			m = dms[len(dms)-1]
			return true
		}
		return false
	})
	if err != nil {
		return m, fmt.Errorf("%s got %d DMs, want %d: %w", user, len(p.emu.DM(user)), n, err)
	}
	return m, nil
}

// waitDMText waits until one of a person's DMs says text.
func (p *player) waitDMText(ctx context.Context, user, text string) error {
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	err := p.emu.WaitFor(wctx, func() bool {
		for _, m := range p.emu.DM(user) {
			if strings.Contains(m.Text, text) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("no DM to %s says %q: %w", user, text, err)
	}
	return nil
}

// clickForModal clicks a button of a message and returns the modal it opens.
func (p *player) clickForModal(ctx context.Context, user string, m slackemu.Message, actionID string) (slackemu.View, error) {
	before := len(p.emu.OpenViews(user))
	if _, err := p.emu.ClickButton(ctx, user, m.Ref(), actionID); err != nil {
		return slackemu.View{}, err
	}
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	var v slackemu.View
	err := p.emu.WaitFor(wctx, func() bool {
		if vs := p.emu.OpenViews(user); len(vs) > before {
			v = vs[len(vs)-1]
			return true
		}
		return false
	})
	if err != nil {
		return v, fmt.Errorf("clicking %s opened no modal for %s: %w", actionID, user, err)
	}
	return v, nil
}

// waitChannelText waits until a message in a channel says text.
func (p *player) waitChannelText(ctx context.Context, channel, text string) error {
	wctx, cancel := p.waitCtx(ctx)
	defer cancel()
	err := p.emu.WaitFor(wctx, func() bool {
		for _, m := range p.emu.Messages(channel) {
			if !m.Ephemeral && strings.Contains(m.Text, text) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("no message in %s says %q: %w", channel, text, err)
	}
	return nil
}
