package okr

import "time"

// CycleLength is how long a check-in stays open: one week.
const CycleLength = 7 * 24 * time.Hour

// CurrentCycle returns the check-in cycle of a person in loc that is open at
// now: the local date of the team's latest check-in weekday whose check-in
// time has passed, and that instant. The check-in is due at due and closes
// at due + CycleLength. Local times that a DST change skips move forward, as
// time.Date does.
func (s Schedule) CurrentCycle(now time.Time, loc *time.Location) (date time.Time, due time.Time) {
	local := now.In(loc)
	back := (int(local.Weekday()) - int(s.CheckinWeekday) + 7) % 7
	d := time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, loc)
	due = s.DueAt(d, loc)
	if due.After(now) {
		d = time.Date(d.Year(), d.Month(), d.Day()-7, 0, 0, 0, 0, loc)
		due = s.DueAt(d, loc)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), due
}

// DueAt returns the instant of the check-in time on a local date in loc.
func (s Schedule) DueAt(date time.Time, loc *time.Location) time.Time {
	return time.Date(date.Year(), date.Month(), date.Day(), s.CheckinMinute/60, s.CheckinMinute%60, 0, 0, loc)
}

// NextCheckin returns the next check-in time after now for a person in loc.
func (s Schedule) NextCheckin(now time.Time, loc *time.Location) time.Time {
	date, _ := s.CurrentCycle(now, loc)
	return s.DueAt(time.Date(date.Year(), date.Month(), date.Day()+7, 0, 0, 0, 0, loc), loc)
}

// Validate reports the first rule the schedule breaks.
func (s Schedule) Validate() error {
	switch {
	case s.CheckinWeekday < time.Sunday || s.CheckinWeekday > time.Saturday:
		return FieldErrorf("checkin_day", "Pick a weekday.")
	case s.CheckinMinute < 0 || s.CheckinMinute >= 24*60:
		return FieldErrorf("checkin_time", "Pick a time of day, like 10:00.")
	case s.ReminderDelay < 0 || s.ReminderDelay >= CycleLength:
		return FieldErrorf("reminder", "The reminder must come within the week of the check-in.")
	case s.DigestWeekday < time.Sunday || s.DigestWeekday > time.Saturday:
		return FieldErrorf("digest_day", "Pick a weekday.")
	case s.DigestMinute < 0 || s.DigestMinute >= 24*60:
		return FieldErrorf("digest_time", "Pick a time of day, like 16:00.")
	}
	return nil
}

// SlackUser is what Slack says of a person, as cached.
type SlackUser struct {
	ID      string `db:"id"`
	TZ      string `db:"tz"`
	IsAdmin bool   `db:"is_admin"`
	IsOwner bool   `db:"is_owner"`
	IsBot   bool   `db:"is_bot"`
	Deleted bool   `db:"deleted"`
}

// Location returns the person's time zone, or def when Slack gave none or
// an unknown one.
func (u SlackUser) Location(def *time.Location) *time.Location {
	if u.TZ == "" {
		return def
	}
	loc, err := time.LoadLocation(u.TZ)
	if err != nil {
		return def
	}
	return loc
}

// Recipient is a person owed a check-in by a team: they own a key result of
// an active objective of the team, or one of its KPIs.
type Recipient struct {
	TeamID int64
	UserID string
	TZ     string // "" when Slack gave none, or when not Known
	// Known says whether Slack's view of the person is cached.
	Known bool
	// Since is when the person first owned something of the team: a cycle
	// due before it is not theirs to answer.
	Since    time.Time
	Schedule Schedule
}

// AwayOn reports whether someone away until the date `until` (inclusive) is
// away on the local date of t.
func AwayOn(until *time.Time, t time.Time) bool {
	if until == nil {
		return false
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	u := time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.UTC)
	return !d.After(u)
}
