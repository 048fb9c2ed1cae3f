package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/okrbot/okrbot/okr"
)

// periodArg reads the optional quarter of a command: the current one when
// none is given. A quarter that has not started is refused.
func (b *Bot) periodArg(in commandInput) (okr.Period, error) {
	if len(in.Cmd.Args) == 0 {
		return b.currentQuarter(), nil
	}
	p, err := okr.ParsePeriod(in.Cmd.Args[0], b.cfg.FiscalYearStart, b.cfg.Location)
	if err != nil || p.Kind != okr.Quarter {
		return okr.Period{}, &UsageError{
			Problem: fmt.Sprintf("%q is not a quarter: write it like %s.", in.Cmd.Args[0], b.currentQuarter().Label()),
			Usage:   in.Cmd.Spec().usage,
		}
	}
	if p.Start.After(b.now()) {
		return okr.Period{}, okr.Errorf(okr.EINVALID, "%s has not started yet (it starts on %s).", p.Label(), p.Start.Format("Jan 2, 2006"))
	}
	return p, nil
}

// readableTeam returns the channel's team if the person may read it.
func (b *Bot) readableTeam(ctx context.Context, in commandInput) (*okr.Team, error) {
	team, err := b.channelTeam(ctx, in.Slash.ChannelID)
	if err != nil {
		return nil, err
	}
	ok, err := b.canRead(ctx, team, in.Slash.UserID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, okr.Errorf(okr.EFORBIDDEN, "Only members of *%s* can post its reports. %s", escape(team.Name), b.leadsLine(ctx, team))
	}
	return team, nil
}

// enqueueReport puts a report asked for in the outbox and has it posted.
func (b *Bot) enqueueReport(ctx context.Context, team *okr.Team, kind, key string) error {
	if _, err := b.store.EnqueueReport(ctx, team.ID, kind, key); err != nil {
		return err
	}
	if b.cfg.ReportsNow != nil {
		b.cfg.ReportsNow()
	}
	return nil
}

// cmdDigest posts the channel's team's weekly digest now.
func (b *Bot) cmdDigest(ctx context.Context, in commandInput) (*reply, error) {
	team, err := b.readableTeam(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := b.enqueueReport(ctx, team, okr.ReportDigest, manualPrefix+":"+in.Slash.TriggerID); err != nil {
		return nil, err
	}
	return &reply{Text: fmt.Sprintf("📬 Posting the weekly digest of *%s* here…", escape(team.Name))}, nil
}

// cmdSummary posts the channel's team's quarterly summary now.
func (b *Bot) cmdSummary(ctx context.Context, in commandInput) (*reply, error) {
	p, err := b.periodArg(in)
	if err != nil {
		return nil, err
	}
	team, err := b.readableTeam(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := b.enqueueReport(ctx, team, okr.ReportSummary, manualPrefix+p.Label()+":"+in.Slash.TriggerID); err != nil {
		return nil, err
	}
	return &reply{Text: fmt.Sprintf("📬 Posting the %s summary of *%s* here, with its chart…", p.Label(), escape(team.Name))}, nil
}

// leadsQuarter reads the quarter of a lead's command about the channel's
// team, refusing anyone but its leads.
func (b *Bot) leadsQuarter(ctx context.Context, in commandInput, doing string) (okr.Period, *okr.Team, error) {
	p, err := b.periodArg(in)
	if err != nil {
		return okr.Period{}, nil, err
	}
	team, err := b.channelTeam(ctx, in.Slash.ChannelID)
	if err != nil {
		return okr.Period{}, nil, err
	}
	if err := b.requireLead(ctx, team, in.Slash.UserID, doing); err != nil {
		return okr.Period{}, nil, err
	}
	return p, team, nil
}

// cmdQuarterClose closes a quarter of the channel's team: its objectives
// are closed and their scores frozen.
func (b *Bot) cmdQuarterClose(ctx context.Context, in commandInput) (*reply, error) {
	p, team, err := b.leadsQuarter(ctx, in, "close a quarter of")
	if err != nil {
		return nil, err
	}
	n, err := b.store.CloseQuarter(ctx, team.ID, p, in.Slash.UserID, b.now())
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return &reply{Text: fmt.Sprintf("Nothing to close: *%s* has no open objective in %s.", escape(team.Name), p.Label())}, nil
	}
	return &reply{InChannel: true, Text: fmt.Sprintf("🔒 <@%s> closed %s of *%s*: %d %s closed, scores frozen. See them with `/okr summary %s`.",
		in.Slash.UserID, p.Label(), escape(team.Name), n, pluralWord(n, "objective", "objectives"), p.Label())}, nil
}

// cmdQuarterCarry carries a quarter's unfinished aspirational objectives
// into the next one.
func (b *Bot) cmdQuarterCarry(ctx context.Context, in commandInput) (*reply, error) {
	p, team, err := b.leadsQuarter(ctx, in, "carry over objectives of")
	if err != nil {
		return nil, err
	}
	copies, err := b.store.CarryOver(ctx, team.ID, p, in.Slash.UserID, b.now())
	if err != nil {
		return nil, err
	}
	if len(copies) == 0 {
		return &reply{Text: fmt.Sprintf("Nothing to carry over: *%s* has no unfinished aspirational objective in %s that is not carried already.", escape(team.Name), p.Label())}, nil
	}
	titles := make([]string, len(copies))
	for i, o := range copies {
		titles[i] = "*" + escape(o.Title) + "*"
	}
	return &reply{InChannel: true, Text: fmt.Sprintf("➡️ <@%s> carried %d %s of *%s* into %s: %s. Their key results start from where %s ended.",
		in.Slash.UserID, len(copies), pluralWord(len(copies), "objective", "objectives"), escape(team.Name), p.Next().Label(),
		strings.Join(titles, ", "), p.Label())}, nil
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
