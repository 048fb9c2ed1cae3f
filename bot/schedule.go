package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// Inputs of the schedule modal.
const (
	fieldCheckinDay  = "checkin_day"
	fieldCheckinTime = "checkin_time"
	fieldReminder    = "reminder"
	fieldDigestDay   = "digest_day"
	fieldDigestTime  = "digest_time"
	fieldSummary     = "summary"
)

// reminderChoices are the reminder delays offered, in hours (0: none).
var reminderChoices = []int{0, 2, 4, 8, 24, 48, 72}

func weekdayOptions() []*slack.OptionBlockObject {
	var opts []*slack.OptionBlockObject
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		opts = append(opts, option(strconv.Itoa(int(d)), d.String()))
	}
	return opts
}

func timeOptions() []*slack.OptionBlockObject {
	var opts []*slack.OptionBlockObject
	for m := 0; m < 24*60; m += 30 {
		opts = append(opts, option(strconv.Itoa(m), clock(m)))
	}
	return opts
}

// clock writes minutes after midnight as 15:04.
func clock(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

func reminderWords(d time.Duration) string {
	if d == 0 {
		return "no reminder"
	}
	return fmt.Sprintf("a reminder after %d h", int(d.Hours()))
}

// scheduleLine describes a schedule in one sentence.
func scheduleLine(s okr.Schedule, loc *time.Location) string {
	summary := "no quarterly summary"
	if s.QuarterSummary {
		summary = "a quarterly summary"
	}
	return fmt.Sprintf("check-ins %ss at %s in each person's time zone, %s; the digest %ss at %s (%s); %s.",
		s.CheckinWeekday, clock(s.CheckinMinute), reminderWords(s.ReminderDelay), s.DigestWeekday, clock(s.DigestMinute), loc, summary)
}

// scheduleModal is the form for a team's schedule.
func scheduleModal(team *okr.Team, s okr.Schedule, loc *time.Location) slack.ModalViewRequest {
	var reminders []*slack.OptionBlockObject
	for _, h := range reminderChoices {
		reminders = append(reminders, option(strconv.Itoa(h), reminderWords(time.Duration(h)*time.Hour)))
	}
	yesNo := []*slack.OptionBlockObject{option("yes", "Post it on the quarter's last day"), option("no", "Don't post it")}
	yes := "no"
	if s.QuarterSummary {
		yes = "yes"
	}
	blocks := []slack.Block{
		contextBlock(fmt.Sprintf("Schedule of *%s*. Check-ins go out at each person's own time; the digest and the quarter's summary at the team's, %s.", escape(team.Name), loc)),
		selectInput(fieldCheckinDay, "Check-in day", "Pick a day", weekdayOptions(), strconv.Itoa(int(s.CheckinWeekday)), false),
		selectInput(fieldCheckinTime, "Check-in time", "Pick a time", timeOptions(), strconv.Itoa(s.CheckinMinute), false),
		selectInput(fieldReminder, "Reminder", "Pick a delay", reminders, strconv.Itoa(int(s.ReminderDelay.Hours())), false),
		selectInput(fieldDigestDay, "Digest day", "Pick a day", weekdayOptions(), strconv.Itoa(int(s.DigestWeekday)), false),
		selectInput(fieldDigestTime, "Digest time", "Pick a time", timeOptions(), strconv.Itoa(s.DigestMinute), false),
		selectInput(fieldSummary, "Quarterly summary", "Pick one", yesNo, yes, false),
	}
	return modal(viewSchedule, "Team schedule", "Save", privateMetadata{TeamID: team.ID}, blocks)
}

// cmdSchedule opens the schedule modal of the channel's team, for leads.
func (b *Bot) cmdSchedule(ctx context.Context, in commandInput) (*reply, error) {
	team, err := b.channelTeam(ctx, in.Slash.ChannelID)
	if err != nil {
		return nil, err
	}
	if err := b.requireLead(ctx, team, in.Slash.UserID, "change the schedule of"); err != nil {
		return nil, err
	}
	s, err := b.store.Schedule(ctx, team.ID)
	if err != nil {
		return nil, err
	}
	return nil, b.openView(ctx, in.Slash.TriggerID, scheduleModal(team, s, b.cfg.Location))
}

// submitSchedule validates and saves the schedule modal.
func (b *Bot) submitSchedule(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	meta := parseMetadata(cb.View.PrivateMetadata)
	team, err := b.store.Team(ctx, meta.TeamID)
	if err != nil {
		return b.formFailure(log, err, fieldCheckinDay)
	}
	if err := b.requireLead(ctx, team, cb.User.ID, "change the schedule of"); err != nil {
		return b.formFailure(log, err, fieldCheckinDay)
	}
	f := newForm(cb.View)
	errs := fieldErrors{}
	num := func(field string, lo, hi int) int {
		n, err := strconv.Atoi(f.selected(field))
		if err != nil || n < lo || n > hi {
			errs.add(field, "Pick one of the choices.")
		}
		return n
	}
	s := okr.Schedule{
		TeamID:         team.ID,
		CheckinWeekday: time.Weekday(num(fieldCheckinDay, 0, 6)),
		CheckinMinute:  num(fieldCheckinTime, 0, 24*60-1),
		ReminderDelay:  time.Duration(num(fieldReminder, 0, 144)) * time.Hour,
		DigestWeekday:  time.Weekday(num(fieldDigestDay, 0, 6)),
		DigestMinute:   num(fieldDigestTime, 0, 24*60-1),
		QuarterSummary: f.selected(fieldSummary) == "yes",
	}
	if len(errs) == 0 {
		if err := s.Validate(); err != nil {
			errs.addErr(err, "", fieldCheckinDay)
		}
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	if err := b.store.UpdateSchedule(ctx, s, cb.User.ID); err != nil {
		return b.formFailure(log, err, fieldCheckinDay)
	}
	return slack.NewClearViewSubmissionResponse(), func(ctx context.Context) {
		b.confirm(ctx, log, team.ChannelID, cb.User.ID, "✅ Saved. *"+escape(team.Name)+"*: "+scheduleLine(s, b.cfg.Location))
	}
}

// cmdCheckinSend plans this cycle's check-ins of the channel's team now, for
// everyone not asked yet, and has them sent at once.
func (b *Bot) cmdCheckinSend(ctx context.Context, in commandInput) (*reply, error) {
	team, err := b.channelTeam(ctx, in.Slash.ChannelID)
	if err != nil {
		return nil, err
	}
	if err := b.requireLead(ctx, team, in.Slash.UserID, "send the check-ins of"); err != nil {
		return nil, err
	}
	now := b.cfg.Now()
	rs, err := b.store.CheckinRecipients(ctx, now)
	if err != nil {
		return nil, err
	}
	var cs []okr.Checkin
	for _, r := range rs {
		if r.TeamID != team.ID {
			continue
		}
		date := sendNowCycle(r.Schedule, now, okr.SlackUser{TZ: r.TZ}.Location(b.cfg.Location))
		cs = append(cs, okr.Checkin{TeamID: team.ID, UserID: r.UserID, CycleStart: date, DueAt: now, State: okr.Scheduled})
	}
	if len(cs) == 0 {
		return &reply{Text: fmt.Sprintf("Nobody in *%s* owns a key result or KPI this quarter yet, so there is no one to ask.", escape(team.Name))}, nil
	}
	n, err := b.store.CreateCheckins(ctx, cs)
	if err != nil {
		return nil, err
	}
	if n > 0 && b.cfg.CheckinsNow != nil {
		b.cfg.CheckinsNow()
	}
	var parts []string
	if n > 0 {
		parts = append(parts, fmt.Sprintf("📬 Sending the *%s* check-in to %d %s now.", escape(team.Name), n, personWord(n)))
	}
	if asked := len(cs) - n; asked > 0 {
		parts = append(parts, fmt.Sprintf("%d %s already asked this cycle.", asked, peopleWere(asked)))
	}
	return &reply{Text: strings.Join(parts, " ")}, nil
}

// sendNowCycle returns the cycle a check-in sent now belongs to: that of
// the latest check-in day on or before today in loc, even when today's
// check-in time has not come yet, so that the scheduled round finds the
// person asked already rather than asking again hours later.
func sendNowCycle(s okr.Schedule, now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	back := (int(local.Weekday()) - int(s.CheckinWeekday) + 7) % 7
	return time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, time.UTC)
}

func personWord(n int) string {
	if n == 1 {
		return "person"
	}
	return "people"
}

func peopleWere(n int) string {
	if n == 1 {
		return "person was"
	}
	return "people were"
}
