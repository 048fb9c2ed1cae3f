package okr

import "time"

// CheckinState is where a check-in stands in its cycle.
type CheckinState string

// States of a check-in.
const (
	Scheduled CheckinState = "scheduled"
	Sent      CheckinState = "sent"
	Answered  CheckinState = "answered"
	Skipped   CheckinState = "skipped"
	Missed    CheckinState = "missed"
	Away      CheckinState = "away"
	// Sending is a check-in claimed by a sender: its DM may be on its way.
	Sending CheckinState = "sending"
	// Undeliverable is a check-in whose DM cannot reach the person; Reason says why.
	Undeliverable CheckinState = "undeliverable"
)

// Checkin is one person's check-in for one team cycle.
type Checkin struct {
	ID            int64        `db:"id"`
	TeamID        int64        `db:"team_id"`
	UserID        string       `db:"user_id"`
	CycleStart    time.Time    `db:"cycle_start"`
	DueAt         time.Time    `db:"due_at"`
	State         CheckinState `db:"state"`
	DMChannel     string       `db:"dm_channel"`
	DMTS          string       `db:"dm_ts"`
	RemindersSent int          `db:"reminders_sent"`
	Blockers      string       `db:"blockers"`
	SentAt        *time.Time   `db:"sent_at"`
	AnsweredAt    *time.Time   `db:"answered_at"`
	ClaimedUntil  *time.Time   `db:"claimed_until"`
	ClaimedBy     string       `db:"claimed_by"`
	Attempts      int          `db:"attempts"`
	Reason        string       `db:"reason"`
	ReminderTS    string       `db:"reminder_ts"`
	// Recovered is set on a check-in claimed from a sender whose claim
	// expired: its DM may have gone out without being recorded.
	Recovered bool `db:"-"`
	// AwayUntil is, on a claimed check-in, the last day its person is
	// away (nil when they are not), read with the claim.
	AwayUntil *time.Time `db:"away_until"`
}

// Open reports whether the check-in can still be answered.
func (c *Checkin) Open() bool {
	return c.State == Scheduled || c.State == Sending || c.State == Sent
}

// ClosesAt returns when the check-in's cycle ends.
func (c *Checkin) ClosesAt() time.Time { return c.DueAt.Add(CycleLength) }

// KRUpdate is a new value and confidence reported for a key result.
type KRUpdate struct {
	ID          int64   `db:"id"`
	KeyResultID int64   `db:"key_result_id"`
	Value       float64 `db:"value"`
	Confidence  int     `db:"confidence"`
	Status      Status  `db:"status"`
	Comment     string  `db:"comment"`
	UserID      string  `db:"user_id"`
	CheckinID   *int64  `db:"checkin_id"`
	// CorrectsID is the update this one corrects, nil for a report.
	CorrectsID *int64    `db:"corrects_id"`
	CreatedAt  time.Time `db:"created_at"`
}

// KRHistoryEntry is a key result update as its history shows it: with the
// update that corrects it, if one does.
type KRHistoryEntry struct {
	KRUpdate
	CorrectedByID *int64 `db:"corrected_by"`
}

// Corrected reports whether a later update corrects this one.
func (e *KRHistoryEntry) Corrected() bool { return e.CorrectedByID != nil }

// Schedule is a team's weekly rhythm, in each person's local time.
type Schedule struct {
	TeamID         int64         `db:"team_id"`
	CheckinWeekday time.Weekday  `db:"checkin_weekday"`
	CheckinMinute  int           `db:"checkin_minute"` // minutes after local midnight
	ReminderDelay  time.Duration `db:"reminder_delay"`
	DigestWeekday  time.Weekday  `db:"digest_weekday"`
	DigestMinute   int           `db:"digest_minute"`
	QuarterSummary bool          `db:"quarter_summary"`
}

// DefaultSchedule is a new team's schedule: check-ins Monday 10:00, a
// reminder after 24 h, the digest Friday 16:00, quarterly summaries on.
func DefaultSchedule(teamID int64) Schedule {
	return Schedule{
		TeamID:         teamID,
		CheckinWeekday: time.Monday,
		CheckinMinute:  10 * 60,
		ReminderDelay:  24 * time.Hour,
		DigestWeekday:  time.Friday,
		DigestMinute:   16 * 60,
		QuarterSummary: true,
	}
}

// AlertRule names what raised an alert.
type AlertRule string

// Rules that raise alerts.
const (
	RuleKPIHealth      AlertRule = "kpi_health"
	RuleKROffTrack     AlertRule = "kr_off_track"
	RuleConfidenceDrop AlertRule = "confidence_drop"
	RuleBehindPace     AlertRule = "behind_pace"
)

// AlertState says whether an alert still holds.
type AlertState string

// States of an alert.
const (
	AlertOpen     AlertState = "open"
	AlertResolved AlertState = "resolved"
)

// Alert is a change of health announced in a team's channel.
type Alert struct {
	ID          int64      `db:"id"`
	TeamID      int64      `db:"team_id"`
	SubjectKind string     `db:"subject_kind"` // "kpi" or "kr"
	SubjectID   int64      `db:"subject_id"`
	Rule        AlertRule  `db:"rule"`
	Level       Colour     `db:"level"`
	State       AlertState `db:"state"`
	ChannelID   string     `db:"channel_id"`
	MessageTS   string     `db:"message_ts"`
	OpenedAt    time.Time  `db:"opened_at"`
	ResolvedAt  *time.Time `db:"resolved_at"`
}

// OwnedKeyResult is a key result with what a person needs to recognise it.
type OwnedKeyResult struct {
	KeyResult
	ObjectiveTitle string `db:"objective_title"`
	TeamID         int64  `db:"team_id"`
	TeamName       string `db:"team_name"`
}

// TeamMember names a person in one team: whom a check-in is for.
type TeamMember struct {
	UserID string
	TeamID int64
}

// SentDM is a check-in's DM that went out: where, and by which claim.
type SentDM struct {
	CheckinID   int64
	Channel, TS string
}

// CheckinAnswer is what a person reported in a check-in, or off-cycle when
// CheckinID is nil.
type CheckinAnswer struct {
	CheckinID *int64
	UserID    string
	Updates   []KRUpdate
	// Readings are the values of the person's due KPIs.
	Readings []Reading
	Blockers string
	At       time.Time
}
