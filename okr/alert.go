package okr

import "time"

// AlertChange is what a new observation does to a subject's alert.
type AlertChange string

// Changes of an alert's state; each but NoChange is announced once.
const (
	NoChange  AlertChange = ""
	Opened    AlertChange = "opened"    // healthy → unhealthy
	Worsened  AlertChange = "worsened"  // yellow → red
	Improved  AlertChange = "improved"  // red → yellow
	Recovered AlertChange = "recovered" // unhealthy → healthy
	// Happened is a one-off event that opens nothing: a confidence drop.
	Happened AlertChange = "happened"
)

// NextAlert returns what an observed level does to an alert that is open at
// level open ("" when none is open), for the rules that hold a state (KPI
// health, KR off track, behind pace): green closes it, any other level opens
// it or moves it, and the same level changes nothing.
func NextAlert(open Colour, observed Colour) AlertChange {
	switch {
	case open == "" && observed == Green, open == observed:
		return NoChange
	case open == "":
		return Opened
	case observed == Green:
		return Recovered
	case observed == Red:
		return Worsened
	}
	return Improved
}

// StatusLevel is the alert level of a key result's status: off track is
// red, at risk yellow, on track (or none reported) green.
func StatusLevel(s Status) Colour {
	switch s {
	case OffTrack:
		return Red
	case AtRisk:
		return Yellow
	}
	return Green
}

// KROffTrackLevel returns the level to observe for the off-track rule given
// the alert's open level: the rule opens only at off track, but once open it
// follows the status down to at risk and back to on track.
func KROffTrackLevel(open Colour, s Status) Colour {
	level := StatusLevel(s)
	if open == "" && level == Yellow {
		return Green // at risk alone raises nothing
	}
	return level
}

// PaceLevel is the level of the behind-pace rule: red when behind.
func PaceLevel(progress, elapsed float64) Colour {
	if BehindPace(progress, elapsed) {
		return Red
	}
	return Green
}

// AlertEvent is one announcement due in a team's channel: an alert opened,
// moved or recovered, or a one-off event. It is written in the same
// transaction as what caused it, and posted once.
type AlertEvent struct {
	ID          int64       `db:"id"`
	AlertID     *int64      `db:"alert_id"`
	TeamID      int64       `db:"team_id"`
	SubjectKind string      `db:"subject_kind"` // "kpi" or "kr"
	SubjectID   int64       `db:"subject_id"`
	Rule        AlertRule   `db:"rule"`
	Change      AlertChange `db:"change"`
	Level       Colour      `db:"level"`
	Previous    Colour      `db:"previous"`
	// Value is the observed value (a KPI reading, a KR's value or its
	// confidence for a drop); PreviousValue the one before, if any.
	Value         float64   `db:"value"`
	PreviousValue *float64  `db:"previous_value"`
	UserID        string    `db:"user_id"` // who reported it
	CreatedAt     time.Time `db:"created_at"`

	// Delivery.
	State     string     `db:"state"` // pending, posting, posted, failed
	ChannelID string     `db:"channel_id"`
	MessageTS string     `db:"message_ts"`
	PostedAt  *time.Time `db:"posted_at"`
	Reason    string     `db:"reason"`
	Recovered bool       `db:"-"` // claimed from a poster whose lease expired
}
