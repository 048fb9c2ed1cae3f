package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// alertEventType marks an alert's channel message in its metadata, so a
// poster that died before recording it can be found in the history.
const alertEventType = "okrbot_alert"

// trendReadings is how many readings an alert's trend shows.
const trendReadings = 6

// unpostable lists Slack errors that mean a channel will never take the
// bot's messages, until someone acts.
var unpostable = map[string]string{
	"not_in_channel":    "I'm not a member of it",
	"channel_not_found": "it is private without me in it, or gone",
	"is_archived":       "it is archived",
}

// asUnpostable turns Slack's final channel errors into EUNDELIVERABLE.
func asUnpostable(err error) error {
	if reason, ok := unpostable[err.Error()]; ok {
		return &okr.Error{Code: okr.EUNDELIVERABLE, Message: reason}
	}
	return withOutcome(err)
}

// PostAlert posts an alert event in its team's channel.
func (b *Bot) PostAlert(ctx context.Context, ev okr.AlertEvent) (string, string, error) {
	team, err := b.store.Team(ctx, ev.TeamID)
	if err != nil {
		return "", "", err
	}
	text, err := b.alertText(ctx, ev)
	if err != nil {
		return "", "", err
	}
	ch, ts, err := b.api.PostMessageContext(ctx, team.ChannelID,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(section(text)),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: alertEventType, EventPayload: map[string]any{"alert_event_id": ev.ID}}),
	)
	if err != nil {
		return "", "", asUnpostable(err)
	}
	return ch, ts, nil
}

// FindAlertPost looks for an alert event's message in its team's channel.
func (b *Bot) FindAlertPost(ctx context.Context, ev okr.AlertEvent) (string, string, bool, error) {
	team, err := b.store.Team(ctx, ev.TeamID)
	if err != nil {
		return "", "", false, err
	}
	ts, found, err := b.findPost(ctx, team.ChannelID, ev.CreatedAt, alertEventType, "alert_event_id", ev.ID)
	if !found || err != nil {
		return "", "", false, err
	}
	return team.ChannelID, ts, true, nil
}

// ReportUnpostable tells each lead of the team, by DM, that an alert could
// not be posted in the team's channel, and shows them the alert.
func (b *Bot) ReportUnpostable(ctx context.Context, ev okr.AlertEvent, reason string) error {
	team, err := b.store.Team(ctx, ev.TeamID)
	if err != nil {
		return err
	}
	members, err := b.store.TeamMembers(ctx, team.ID)
	if err != nil {
		return err
	}
	var leads []string
	for _, m := range members {
		if m.Role == okr.RoleLead {
			leads = append(leads, m.UserID)
		}
	}
	if len(leads) == 0 && team.CreatedBy != "" {
		leads = []string{team.CreatedBy}
	}
	alert, err := b.alertText(ctx, ev)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("⚠️ I couldn't post an alert of *%s* in <#%s> (%s). Invite me with `/invite @okrbot` in that channel, or unarchive it if it was archived; alerts after that will be posted there. The alert:\n>%s",
		escape(team.Name), team.ChannelID, reason, strings.ReplaceAll(alert, "\n", "\n>"))
	var errs []error
	for _, id := range leads {
		if _, _, err := b.api.PostMessageContext(ctx, id, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(section(text))); err != nil {
			errs = append(errs, fmt.Errorf("bot: DM %s about an unpostable alert: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// alertText writes the message of an alert event.
func (b *Bot) alertText(ctx context.Context, ev okr.AlertEvent) (string, error) {
	if ev.SubjectKind == "kpi" {
		return b.kpiAlertText(ctx, ev)
	}
	return b.krAlertText(ctx, ev)
}

// kpiAlertText writes a KPI health alert: "🟡 *on-time-delivery* dropped to
// warning: *93%* (warning below 95%, critical below 90%) · owner @bob ·
// trend 97% → 96% → 93%".
func (b *Bot) kpiAlertText(ctx context.Context, ev okr.AlertEvent) (string, error) {
	k, err := b.store.KPI(ctx, ev.SubjectID)
	if err != nil {
		return "", err
	}
	readings, err := b.store.Readings(ctx, k.ID, trendReadings+4)
	if err != nil {
		return "", err
	}
	var trend []string
	for i := len(readings) - 1; i >= 0; i-- {
		if !readings[i].At.After(ev.CreatedAt) || ev.CreatedAt.IsZero() {
			trend = append(trend, okr.FormatValue(readings[i].Value, k.Unit))
		}
	}
	trend = trend[max(0, len(trend)-trendReadings):]

	name := "*" + escape(k.Name) + "*"
	value := okr.FormatValue(ev.Value, k.Unit)
	side, moved := "below", "dropped"
	if k.Direction == okr.LowerIsBetter {
		side, moved = "above", "rose"
	}
	band := fmt.Sprintf("warning %s %s, critical %s %s", side, okr.FormatValue(k.Warning, k.Unit), side, okr.FormatValue(k.Critical, k.Unit))
	var head string
	switch ev.Change {
	case okr.Opened:
		level := "warning"
		if ev.Level == okr.Red {
			level = "critical"
		}
		head = fmt.Sprintf("%s %s %s to %s: *%s* (%s)", healthEmoji(ev.Level), name, moved, level, value, band)
	case okr.Worsened:
		head = fmt.Sprintf("🔴 %s is now critical: *%s* (%s)", name, value, band)
	case okr.Improved:
		head = fmt.Sprintf("🟡 %s improved to warning: *%s* (%s)", name, value, band)
	case okr.Recovered:
		head = fmt.Sprintf("✅ %s is healthy again at *%s*", name, value)
	default:
		head = fmt.Sprintf("%s %s is at *%s* (%s)", healthEmoji(ev.Level), name, value, band)
	}
	text := head + fmt.Sprintf(" · owner <@%s>", k.OwnerID)
	if len(trend) > 1 {
		text += " · trend " + strings.Join(trend, " → ")
	}
	return text, nil
}

// krAlertText writes a key result's alert: off track, a confidence drop or
// behind pace.
func (b *Bot) krAlertText(ctx context.Context, ev okr.AlertEvent) (string, error) {
	at := ev.CreatedAt
	if at.IsZero() {
		at = b.cfg.Now()
	}
	kr, o, err := b.findKeyResult(ctx, ev.TeamID, ev.SubjectID, at)
	if err != nil {
		return "", err
	}
	name := "*" + escape(kr.Title) + "*"
	owner := fmt.Sprintf(" · owner <@%s>", kr.OwnerID)
	of := " · for _" + escape(o.Title) + "_"
	where := "not done yet"
	if kr.Kind == okr.Metric {
		where = fmt.Sprintf("%s, target %s", okr.FormatValue(kr.Current, kr.Unit), okr.FormatValue(kr.Target, kr.Unit))
		if ev.Rule == okr.RuleKROffTrack {
			where = fmt.Sprintf("%s, target %s", okr.FormatValue(ev.Value, kr.Unit), okr.FormatValue(kr.Target, kr.Unit))
		}
	} else if kr.Current >= 1 {
		where = "done"
	}
	conf := ""
	if kr.Confidence > 0 {
		conf = fmt.Sprintf(" (confidence %d/10)", kr.Confidence)
	}
	switch ev.Rule {
	case okr.RuleConfidenceDrop:
		from := "?"
		if ev.PreviousValue != nil {
			from = okr.FormatNumber(*ev.PreviousValue)
		}
		return fmt.Sprintf("📉 Confidence in %s fell from %s to %s%s%s", name, from, okr.FormatNumber(ev.Value), owner, of), nil
	case okr.RuleBehindPace:
		what := "the quarter"
		elapsed := 0.0
		if p, err := okr.ParsePeriod(o.Period, b.cfg.FiscalYearStart, b.cfg.Location); err == nil {
			elapsed = p.Elapsed(at)
			if p.Kind != okr.Quarter {
				what = "the year"
			}
		}
		pace := fmt.Sprintf("%s done with %s of %s gone", okr.FormatPercent(kr.Progress()), okr.FormatPercent(elapsed), what)
		if ev.Change == okr.Recovered {
			return fmt.Sprintf("✅ %s is back on pace: %s%s%s", name, pace, owner, of), nil
		}
		return fmt.Sprintf("🐢 %s is behind pace: %s%s%s", name, pace, owner, of), nil
	}
	switch {
	case ev.Change == okr.Recovered:
		return fmt.Sprintf("✅ %s is back on track%s%s · %s%s", name, conf, owner, where, of), nil
	case ev.Level == okr.Yellow:
		return fmt.Sprintf("🟡 %s is at risk, no longer off track%s%s · %s%s", name, conf, owner, where, of), nil
	}
	return fmt.Sprintf("🔴 %s is off track%s%s · %s%s", name, conf, owner, where, of), nil
}

// findKeyResult finds a key result of a team's objectives of the periods
// around at (its quarter, the one before, and its year).
func (b *Bot) findKeyResult(ctx context.Context, teamID, krID int64, at time.Time) (*okr.KeyResult, *okr.Objective, error) {
	q := okr.QuarterOf(at.In(b.cfg.Location), b.cfg.FiscalYearStart)
	prev := okr.QuarterOf(q.Start.AddDate(0, 0, -1), b.cfg.FiscalYearStart)
	for _, label := range []string{q.Label(), okr.YearOf(q.Start, b.cfg.FiscalYearStart).Label(), prev.Label()} {
		objs, err := b.store.ObjectivesByTeam(ctx, teamID, label)
		if err != nil {
			return nil, nil, err
		}
		for i := range objs {
			for j := range objs[i].KeyResults {
				if objs[i].KeyResults[j].ID == krID {
					return &objs[i].KeyResults[j], &objs[i], nil
				}
			}
		}
	}
	return nil, nil, okr.Errorf(okr.ENOTFOUND, "key result %d of team %d not found", krID, teamID)
}
