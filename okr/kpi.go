package okr

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Direction says which way a KPI should move.
type Direction string

// Directions of a KPI.
const (
	HigherIsBetter Direction = "higher_is_better"
	LowerIsBetter  Direction = "lower_is_better"
)

// Cadence is how often a KPI is read.
type Cadence string

// Cadences of a KPI.
const (
	Daily   Cadence = "daily"
	Weekly  Cadence = "weekly"
	Monthly Cadence = "monthly"
)

// MaxKPINameLen is the longest KPI name, in characters.
const MaxKPINameLen = 80

// KPI is a continuous health metric with a healthy band.
type KPI struct {
	ID         int64      `db:"id"`
	TeamID     int64      `db:"team_id"`
	Name       string     `db:"name"`
	OwnerID    string     `db:"owner_id"`
	Unit       string     `db:"unit"`
	Direction  Direction  `db:"direction"`
	Warning    float64    `db:"warning"`
	Critical   float64    `db:"critical"`
	Cadence    Cadence    `db:"cadence"`
	DataSource string     `db:"data_source"`
	ArchivedAt *time.Time `db:"archived_at"`
	CreatedAt  time.Time  `db:"created_at"`
}

// Validate reports the first rule the KPI breaks, trimming its text.
func (k *KPI) Validate() error {
	k.Name = strings.TrimSpace(k.Name)
	k.Unit = strings.TrimSpace(k.Unit)
	switch {
	case k.Name == "":
		return FieldErrorf("name", "Give the KPI a name.")
	case utf8.RuneCountInString(k.Name) > MaxKPINameLen:
		return FieldErrorf("name", "Keep the name to %d characters.", MaxKPINameLen)
	case strings.ContainsAny(k.Name, " \t\n"):
		return FieldErrorf("name", "Use a name without spaces (e.g. on-time-delivery), so `/okr kpi record NAME VALUE` can find it.")
	case utf8.RuneCountInString(k.Unit) > MaxUnitLen:
		return FieldErrorf("unit", "Keep the unit to %d characters.", MaxUnitLen)
	case k.OwnerID == "":
		return FieldErrorf("owner", "Pick an owner.")
	case k.Cadence != Daily && k.Cadence != Weekly && k.Cadence != Monthly:
		return FieldErrorf("cadence", "Pick daily, weekly or monthly.")
	case math.IsNaN(k.Warning) || math.IsNaN(k.Critical):
		return FieldErrorf("warning", "Thresholds must be numbers.")
	}
	switch k.Direction {
	case HigherIsBetter:
		if !(k.Critical < k.Warning) {
			return FieldErrorf("critical", "When higher is better, the critical threshold must be below the warning one.")
		}
	case LowerIsBetter:
		if !(k.Critical > k.Warning) {
			return FieldErrorf("critical", "When lower is better, the critical threshold must be above the warning one.")
		}
	default:
		return FieldErrorf("direction", "Pick higher is better or lower is better.")
	}
	return nil
}

// Health returns the KPI's colour for a value. For higher-is-better, a value
// below critical is red, below warning yellow, else green; reversed for
// lower-is-better.
func (k *KPI) Health(value float64) Colour {
	if k.Direction == LowerIsBetter {
		switch {
		case value > k.Critical:
			return Red
		case value > k.Warning:
			return Yellow
		}
		return Green
	}
	switch {
	case value < k.Critical:
		return Red
	case value < k.Warning:
		return Yellow
	}
	return Green
}

// Reading is one value of a KPI at a time.
type Reading struct {
	ID     int64     `db:"id"`
	KPIID  int64     `db:"kpi_id"`
	Value  float64   `db:"value"`
	At     time.Time `db:"read_at"`
	UserID string    `db:"user_id"`
	Note   string    `db:"note"`
}

// KPIDue reports whether a KPI read last at last (nil: never) is due for a
// reading at now, at a weekly check-in: a daily KPI unless read within the
// last 24 hours, a weekly one unless read within the last 6 days (so a
// reading on last week's check-in day never counts), a monthly one unless
// read in the same calendar month as now, in now's location.
func KPIDue(cadence Cadence, last *time.Time, now time.Time) bool {
	if last == nil {
		return true
	}
	switch cadence {
	case Daily:
		return now.Sub(*last) >= 24*time.Hour
	case Monthly:
		l := last.In(now.Location())
		return l.Year() != now.Year() || l.Month() != now.Month()
	}
	return now.Sub(*last) >= 6*24*time.Hour
}
