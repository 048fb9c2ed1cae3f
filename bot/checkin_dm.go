package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// checkinEventType marks a check-in DM in its message metadata, so a sender
// that died before recording it can be found in the DM history.
const checkinEventType = "okrbot_checkin"

// undeliverable lists Slack errors that mean a DM can never reach a person.
var undeliverable = map[string]string{
	"user_not_found":    "not in this workspace",
	"user_disabled":     "deactivated",
	"account_inactive":  "deactivated",
	"cannot_dm_bot":     "a bot",
	"channel_not_found": "no DM possible",
	"is_archived":       "the DM is archived",
}

// asUndeliverable turns Slack's final DM errors into EUNDELIVERABLE, and a
// post that got no answer into an unknownOutcome.
func asUndeliverable(err error) error {
	if reason, ok := undeliverable[err.Error()]; ok {
		return &okr.Error{Code: okr.EUNDELIVERABLE, Message: reason + " (" + err.Error() + ")"}
	}
	return withOutcome(err)
}

// unknownOutcome is a post that got no answer from Slack (a network error,
// a timeout): it may have gone out. Senders leave its claim to expire, so
// the next one looks in the history before posting again.
type unknownOutcome struct{ error }

func (e unknownOutcome) Unwrap() error { return e.error }

// OutcomeUnknown tells the scheduler the post may have gone out.
func (unknownOutcome) OutcomeUnknown() bool { return true }

// withOutcome marks err as an unknown outcome when Slack gave no answer:
// anything but an error Slack sent back (ok:false, a 429, an HTTP status).
func withOutcome(err error) error {
	var (
		refused  slack.SlackErrorResponse
		limited  *slack.RateLimitedError
		status   slack.StatusCodeError
		answered = errors.As(err, &refused) || errors.As(err, &limited) || errors.As(err, &status)
	)
	if err == nil || answered {
		return err
	}
	return unknownOutcome{err}
}

// teamTTL is how long a team read for a DM or an alert is reused: a fan-out
// to thousands reads each team once, and a rename shows within a minute.
const teamTTL = time.Minute

type cachedTeam struct {
	team *okr.Team
	at   time.Time
}

// teamOf returns a team for a DM or an alert, from a short-lived cache.
func (b *Bot) teamOf(ctx context.Context, id int64) (*okr.Team, error) {
	if v, ok := b.teams.Load(id); ok {
		if c := v.(cachedTeam); time.Since(c.at) < teamTTL {
			return c.team, nil
		}
	}
	t, err := b.store.Team(ctx, id)
	if err != nil {
		return nil, err
	}
	b.teams.Store(id, cachedTeam{t, time.Now()})
	return t, nil
}

// location returns a person's time zone: cached from Slack, else the default.
func (b *Bot) location(ctx context.Context, userID string) *time.Location {
	u, err := b.store.SlackUser(ctx, userID)
	if err != nil {
		if p, err := b.people.get(ctx, userID); err == nil {
			return okr.SlackUser{TZ: p.TZ}.Location(b.cfg.Location)
		}
		return b.cfg.Location
	}
	return u.Location(b.cfg.Location)
}

// preparedDM is what a check-in's DM shows, loaded with its batch.
type preparedDM struct {
	user *okr.SlackUser // nil when nothing is cached of the person
	krs  []okr.OwnedKeyResult
	kpis checkinKPIs
}

// PrepareCheckins loads, in a few queries, what the DMs of a batch of
// check-ins show: the people, their key results and their due KPIs. Their
// SendCheckin then reads the database no more. The returned func forgets
// what was not sent. When loading fails, SendCheckin loads each itself.
func (b *Bot) PrepareCheckins(ctx context.Context, cs []okr.Checkin) (forget func()) {
	forget = func() {
		for _, c := range cs {
			b.prepared.Delete(c.ID)
		}
	}
	if len(cs) == 0 {
		return forget
	}
	var users []string
	pairs := make([]okr.TeamMember, 0, len(cs))
	seen := map[string]bool{}
	for _, c := range cs {
		pairs = append(pairs, okr.TeamMember{UserID: c.UserID, TeamID: c.TeamID})
		if !seen[c.UserID] {
			seen[c.UserID] = true
			users = append(users, c.UserID)
		}
	}
	people, err := b.store.SlackUsersByID(ctx, users)
	if err != nil {
		return forget
	}
	krs, err := b.store.OwnedKeyResultsOf(ctx, pairs, b.cfg.Now())
	if err != nil {
		return forget
	}
	kpis, err := b.store.KPIsOwnedByAny(ctx, users)
	if err != nil {
		return forget
	}
	var kpiIDs []int64
	for _, ks := range kpis {
		for _, k := range ks {
			kpiIDs = append(kpiIDs, k.ID)
		}
	}
	latest, err := b.store.LatestReadings(ctx, kpiIDs)
	if err != nil {
		return forget
	}
	for _, c := range cs {
		p := &preparedDM{krs: krs[okr.TeamMember{UserID: c.UserID, TeamID: c.TeamID}]}
		loc := b.cfg.Location
		if u, ok := people[c.UserID]; ok {
			p.user = &u
			loc = u.Location(b.cfg.Location)
		}
		p.kpis, _, _ = kpisDue(kpis[c.UserID], c.TeamID, latest, b.cfg.Now().In(loc))
		b.prepared.Store(c.ID, p)
	}
	return forget
}

// SendCheckin DMs a person their weekly check-in.
func (b *Bot) SendCheckin(ctx context.Context, c okr.Checkin) (string, string, error) {
	var p *preparedDM
	if v, ok := b.prepared.LoadAndDelete(c.ID); ok {
		p = v.(*preparedDM)
	} else {
		var err error
		if p, err = b.prepareDM(ctx, c); err != nil {
			return "", "", err
		}
	}
	loc := b.cfg.Location
	if u := p.user; u != nil {
		switch {
		case u.Deleted:
			return "", "", &okr.Error{Code: okr.EUNDELIVERABLE, Message: "deactivated"}
		case u.IsBot:
			return "", "", &okr.Error{Code: okr.EUNDELIVERABLE, Message: "a bot"}
		}
		loc = u.Location(b.cfg.Location)
	} else {
		loc = b.location(ctx, c.UserID)
	}
	team, err := b.teamOf(ctx, c.TeamID)
	if err != nil {
		return "", "", err
	}
	blocks := checkinDMBlocks(team, &c, p.krs, p.kpis, loc)
	ch, ts, err := b.api.PostMessageContext(ctx, c.UserID,
		slack.MsgOptionText(fmt.Sprintf("Weekly check-in for %s: where do things stand?", team.Name), false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: checkinEventType, EventPayload: map[string]any{"checkin_id": c.ID}}),
	)
	if err != nil {
		return "", "", asUndeliverable(err)
	}
	return ch, ts, nil
}

// prepareDM loads what one check-in's DM shows.
func (b *Bot) prepareDM(ctx context.Context, c okr.Checkin) (*preparedDM, error) {
	p := &preparedDM{}
	loc := b.cfg.Location
	if u, err := b.store.SlackUser(ctx, c.UserID); err == nil {
		p.user = &u
		loc = u.Location(b.cfg.Location)
	}
	var err error
	if p.krs, err = b.store.OwnedKeyResults(ctx, c.UserID, c.TeamID, b.cfg.Now()); err != nil {
		return nil, err
	}
	if p.kpis, _, err = b.dueKPIs(ctx, c.UserID, c.TeamID, loc); err != nil {
		return nil, err
	}
	return p, nil
}

// FindCheckinDM looks for a check-in's DM in the person's DM history.
func (b *Bot) FindCheckinDM(ctx context.Context, c okr.Checkin) (string, string, bool, error) {
	ch, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{c.UserID}})
	if err != nil {
		if e := asUndeliverable(err); okr.ErrorCode(e) == okr.EUNDELIVERABLE {
			return "", "", false, nil
		}
		return "", "", false, err
	}
	// A DM history that cannot be read is an error to retry, not a DM
	// that is not there.
	ts, found, err := b.scanHistory(ctx, ch.ID, c.DueAt, checkinEventType, "checkin_id", c.ID)
	if err != nil || !found {
		return "", "", false, err
	}
	return ch.ID, ts, true, nil
}

// RemindCheckin nudges a person, once, about an unanswered check-in.
func (b *Bot) RemindCheckin(ctx context.Context, c okr.Checkin) (string, error) {
	team, err := b.teamOf(ctx, c.TeamID)
	if err != nil {
		return "", err
	}
	loc := b.location(ctx, c.UserID)
	text := fmt.Sprintf("⏰ A nudge: your *%s* check-in is still open. It closes %s.", escape(team.Name), formatWhen(c.ClosesAt(), loc))
	_, ts, err := b.api.PostMessageContext(ctx, c.UserID,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(section(text), slack.NewActionBlock("reminder_actions",
			button(actionCheckinOpen, "Check in", strconv.FormatInt(c.ID, 10), slack.StylePrimary))),
	)
	if err != nil {
		return "", asUndeliverable(err)
	}
	return ts, nil
}

// CloseCheckinDM updates a closed check-in's DM: no buttons, and why.
func (b *Bot) CloseCheckinDM(ctx context.Context, c okr.Checkin) error {
	team, err := b.teamOf(ctx, c.TeamID)
	if err != nil {
		return err
	}
	var text string
	switch c.State {
	case okr.Away:
		text = fmt.Sprintf("🌴 The *%s* check-in of the week of %s closed while you were away.", escape(team.Name), c.CycleStart.Format("Jan 2"))
	default:
		text = fmt.Sprintf("The *%s* check-in of the week of %s closed without an answer. You can still update your key results any time with `/okr checkin`.", escape(team.Name), c.CycleStart.Format("Jan 2"))
	}
	return b.updateCheckinDM(ctx, c, text)
}

// updateCheckinDM replaces a check-in's DM with a line saying how it ended.
func (b *Bot) updateCheckinDM(ctx context.Context, c okr.Checkin, text string) error {
	if c.DMChannel == "" || c.DMTS == "" {
		return nil
	}
	_, _, _, err := b.api.UpdateMessageContext(ctx, c.DMChannel, c.DMTS,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(section(text)))
	if err != nil {
		return fmt.Errorf("bot: update check-in DM: %w", err)
	}
	return nil
}

// SlackUsers lists the workspace's people, for time zones and status.
func (b *Bot) SlackUsers(ctx context.Context) ([]okr.SlackUser, error) {
	users, err := b.api.GetUsersContext(ctx, slack.GetUsersOptionLimit(1000))
	if err != nil {
		return nil, fmt.Errorf("bot: users.list: %w", err)
	}
	out := make([]okr.SlackUser, len(users))
	for i, u := range users {
		out[i] = okr.SlackUser{ID: u.ID, TZ: u.TZ, IsAdmin: u.IsAdmin || u.IsPrimaryOwner, IsOwner: u.IsOwner, IsBot: u.IsBot || u.ID == "USLACKBOT", Deleted: u.Deleted}
	}
	return out, nil
}

// checkinDMBlocks is the weekly check-in DM: what is due, and the buttons.
func checkinDMBlocks(team *okr.Team, c *okr.Checkin, krs []okr.OwnedKeyResult, kpis checkinKPIs, loc *time.Location) []slack.Block {
	what := "key results"
	switch {
	case len(kpis.due) > 0 && len(krs) > 0:
		what = "key results and KPIs"
	case len(kpis.due) > 0:
		what = "KPIs"
	}
	blocks := []slack.Block{
		header("Weekly check-in · " + team.Name),
		section(fmt.Sprintf("Hi <@%s>! Where do your %s stand this week? Answer by %s.", c.UserID, what, formatWhen(c.ClosesAt(), loc))),
	}
	if len(krs) > 0 {
		var lines []string
		for i := range krs {
			line := krLine(&krs[i].KeyResult)
			if n := len(strings.Join(append(lines, line), "\n")); n > maxSectionText-100 {
				lines = append(lines, fmt.Sprintf("…and %d more.", len(krs)-i))
				break
			}
			lines = append(lines, line)
		}
		blocks = append(blocks, section(strings.Join(lines, "\n")))
	}
	if len(kpis.due) > 0 {
		lines := []string{"*KPIs due*"}
		for i := range kpis.due {
			k := &kpis.due[i]
			line := "📈 *" + escape(k.Name) + "* — no reading yet"
			if r, ok := kpis.latest[k.ID]; ok {
				line = fmt.Sprintf("📈 *%s* — last %s %s on %s", escape(k.Name), healthEmoji(k.Health(r.Value)), okr.FormatValue(r.Value, k.Unit), r.At.In(loc).Format("Jan 2"))
			}
			if n := len(strings.Join(append(lines, line), "\n")); n > maxSectionText-100 {
				lines = append(lines, fmt.Sprintf("…and %d more.", len(kpis.due)-i))
				break
			}
			lines = append(lines, line)
		}
		blocks = append(blocks, section(strings.Join(lines, "\n")))
	}
	id := strconv.FormatInt(c.ID, 10)
	return append(blocks, slack.NewActionBlock("checkin_actions",
		button(actionCheckinOpen, "Check in", id, slack.StylePrimary),
		button(actionCheckinSkip, "Skip this week", id, ""),
	))
}

// formatWhen writes an instant in a reader's time zone: "Mon, Nov 30 at 10:00 (CET)".
func formatWhen(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon, Jan 2 at 15:04 (MST)")
}

// slackTS writes a time as a Slack timestamp.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// SlackUser returns what Slack says of one person (users.info).
func (b *Bot) SlackUser(ctx context.Context, id string) (okr.SlackUser, error) {
	u, err := b.api.GetUserInfoContext(ctx, id)
	if err != nil {
		if err.Error() == "user_not_found" {
			return okr.SlackUser{ID: id, Deleted: true}, nil
		}
		return okr.SlackUser{}, fmt.Errorf("bot: users.info: %w", err)
	}
	return okr.SlackUser{ID: u.ID, TZ: u.TZ, IsAdmin: u.IsAdmin || u.IsPrimaryOwner, IsOwner: u.IsOwner, IsBot: u.IsBot, Deleted: u.Deleted}, nil
}
