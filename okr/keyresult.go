package okr

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// KRKind says how a key result is measured.
type KRKind string

// Kinds of key result.
const (
	Metric    KRKind = "metric"    // a number moving from start to target
	Milestone KRKind = "milestone" // done (1) or not done (0)
)

// KeyResult is a measurable outcome of an objective.
type KeyResult struct {
	ID          int64   `db:"id"`
	ObjectiveID int64   `db:"objective_id"`
	Title       string  `db:"title"`
	OwnerID     string  `db:"owner_id"`
	Kind        KRKind  `db:"kind"`
	Unit        string  `db:"unit"`
	Start       float64 `db:"start_value"`
	Target      float64 `db:"target_value"`
	Current     float64 `db:"current_value"`
	// Confidence is the last reported confidence, 1–10, or 0 when none was reported.
	Confidence int       `db:"confidence"`
	KPIID      *int64    `db:"kpi_id"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

// Validate reports the first rule the key result breaks, trimming its text.
// A milestone's start, target and current are normalised to 0, 1 and 0 or 1.
func (kr *KeyResult) Validate() error {
	kr.Title = strings.TrimSpace(kr.Title)
	kr.Unit = strings.TrimSpace(kr.Unit)
	switch {
	case kr.Title == "":
		return FieldErrorf("title", "Give the key result a title.")
	case utf8.RuneCountInString(kr.Title) > MaxTitleLen:
		return FieldErrorf("title", "Keep the title to %d characters (it has %d).", MaxTitleLen, utf8.RuneCountInString(kr.Title))
	case utf8.RuneCountInString(kr.Unit) > MaxUnitLen:
		return FieldErrorf("unit", "Keep the unit to %d characters.", MaxUnitLen)
	case kr.OwnerID == "":
		return FieldErrorf("owner", "Pick an owner.")
	case kr.Confidence < 0 || kr.Confidence > 10:
		return FieldErrorf("confidence", "Confidence is a whole number from 1 to 10.")
	}
	switch kr.Kind {
	case Milestone:
		kr.Start, kr.Target, kr.Unit = 0, 1, ""
		kr.Current = kr.RawProgress()
	case Metric:
		for _, v := range []float64{kr.Start, kr.Target, kr.Current} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return FieldErrorf("target", "Start, target and current must be finite numbers.")
			}
		}
		if kr.Target == kr.Start {
			return FieldErrorf("target", "The target must differ from the start (both are %s).", FormatNumber(kr.Start))
		}
	default:
		return FieldErrorf("kind", "Pick metric or milestone.")
	}
	return nil
}

// RawProgress returns (current − start) / (target − start), unclamped: 1.2
// means 20 % past the target. A milestone is 0 or 1.
func (kr *KeyResult) RawProgress() float64 {
	if kr.Kind == Milestone {
		if kr.Current >= 1 {
			return 1
		}
		return 0
	}
	if kr.Target == kr.Start {
		return 0
	}
	return (kr.Current - kr.Start) / (kr.Target - kr.Start)
}

// Progress returns the key result's progress clamped to [0, 1], the figure
// used for scoring. A decreasing key result (target < start) uses the same
// formula.
func (kr *KeyResult) Progress() float64 {
	return clamp01(kr.RawProgress())
}

// Decreasing reports whether the key result aims to bring a number down.
func (kr *KeyResult) Decreasing() bool {
	return kr.Kind == Metric && kr.Target < kr.Start
}

// PaceGrace is how far below the expected progress a key result may fall
// before it is behind pace.
const PaceGrace = 0.25

// BehindPace reports whether a progress is behind pace with the given
// fraction of the period elapsed: progress < elapsed − 0.25, once at least a
// third of the period has passed.
func BehindPace(progress, elapsed float64) bool {
	return elapsed >= 1.0/3 && progress < elapsed-PaceGrace
}

// Status is what a confidence says of a key result.
type Status string

// Statuses of a key result.
const (
	NoStatus Status = ""
	OnTrack  Status = "on_track"  // confidence 7–10
	AtRisk   Status = "at_risk"   // confidence 4–6
	OffTrack Status = "off_track" // confidence 1–3
)

// ConfidenceStatus returns the status a confidence of 1–10 stands for, and
// NoStatus for 0 (none reported) or anything out of range.
func ConfidenceStatus(confidence int) Status {
	switch {
	case confidence >= 7 && confidence <= 10:
		return OnTrack
	case confidence >= 4 && confidence <= 6:
		return AtRisk
	case confidence >= 1 && confidence <= 3:
		return OffTrack
	}
	return NoStatus
}

// Label returns the status in words.
func (s Status) Label() string {
	switch s {
	case OnTrack:
		return "on track"
	case AtRisk:
		return "at risk"
	case OffTrack:
		return "off track"
	}
	return "no check-in yet"
}

// ConfidenceDropAlert is the drop in confidence between two check-ins that
// raises an alert.
const ConfidenceDropAlert = 3

// ConfidenceDropped reports whether confidence fell by ConfidenceDropAlert or
// more points; a missing previous value (0) never counts.
func ConfidenceDropped(previous, current int) bool {
	return previous > 0 && current > 0 && previous-current >= ConfidenceDropAlert
}
