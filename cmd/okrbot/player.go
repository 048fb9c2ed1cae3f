package main

import (
	"context"
	"fmt"
	"time"

	"github.com/okrbot/okrbot/slackemu"
)

// player drives the Slack emulator as people would, and waits for what the
// bot shows them. The demo and the end-to-end tests share it.
type player struct {
	emu *slackemu.Server
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

// submit submits a modal and returns the ack, waiting for the confirmation
// that follows a successful submission when confirm is true.
func (p *player) submit(ctx context.Context, user, channel string, view slackemu.View, values map[string]map[string]any) (slackemu.Ack, error) {
	return p.emu.SubmitView(ctx, user, view.ID, values)
}

// confirmation waits for the next ephemeral the person sees.
func (p *player) confirmation(ctx context.Context, user, channel string, before seen) (slackemu.Message, error) {
	return p.nextMessage(ctx, user, channel, before)
}
