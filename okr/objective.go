package okr

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on objective and key-result text, in characters. Titles fit a Slack
// header (150); descriptions fit a plain-text input (3000).
const (
	MaxTitleLen       = 150
	MaxDescriptionLen = 3000
	MaxUnitLen        = 24
	MaxKeyResults     = 5 // key results created with a new objective
)

// ObjectiveKind says how an objective is graded.
type ObjectiveKind string

// Kinds of objective.
const (
	Committed    ObjectiveKind = "committed"    // met only at 1.0
	Aspirational ObjectiveKind = "aspirational" // a success at 0.7 or more
)

// ObjectiveStatus says whether an objective is still being worked on.
type ObjectiveStatus string

// Statuses of an objective.
const (
	Active ObjectiveStatus = "active"
	Closed ObjectiveStatus = "closed"
)

// Objective is a qualitative, time-bound goal of a team.
type Objective struct {
	ID          int64           `db:"id"`
	TeamID      int64           `db:"team_id"`
	Title       string          `db:"title"`
	Description string          `db:"description"`
	OwnerID     string          `db:"owner_id"`
	Period      string          `db:"period"` // a period label, e.g. "2027-Q1"
	Kind        ObjectiveKind   `db:"kind"`
	ParentID    *int64          `db:"parent_id"`
	Status      ObjectiveStatus `db:"status"`
	CreatedBy   string          `db:"created_by"`
	CreatedAt   time.Time       `db:"created_at"`

	KeyResults []KeyResult `db:"-"`
}

// Validate reports the first rule the objective breaks, trimming its text.
func (o *Objective) Validate() error {
	o.Title = strings.TrimSpace(o.Title)
	o.Description = strings.TrimSpace(o.Description)
	switch {
	case o.Title == "":
		return FieldErrorf("title", "Give the objective a title.")
	case utf8.RuneCountInString(o.Title) > MaxTitleLen:
		return FieldErrorf("title", "Keep the title to %d characters (it has %d).", MaxTitleLen, utf8.RuneCountInString(o.Title))
	case utf8.RuneCountInString(o.Description) > MaxDescriptionLen:
		return FieldErrorf("description", "Keep the description to %d characters.", MaxDescriptionLen)
	case o.OwnerID == "":
		return FieldErrorf("owner", "Pick an owner.")
	case o.Kind != Committed && o.Kind != Aspirational:
		return FieldErrorf("kind", "Pick committed or aspirational.")
	case o.TeamID == 0:
		return FieldErrorf("team", "Pick a team.")
	}
	return nil
}

// Progress returns the objective's progress: the mean of its key results'
// progress, 0 when it has none.
func (o *Objective) Progress() float64 {
	return ObjectiveProgress(o.KeyResults)
}

// ObjectiveProgress returns the mean progress of key results, 0 for none.
func ObjectiveProgress(krs []KeyResult) float64 {
	if len(krs) == 0 {
		return 0
	}
	var sum float64
	for i := range krs {
		sum += krs[i].Progress()
	}
	return sum / float64(len(krs))
}

// Score returns the end-of-period score of a progress: rounded to 0.1.
func Score(progress float64) float64 {
	return math.Round(clamp01(progress)*10) / 10
}

// Colour is a score's or a KPI's colour.
type Colour string

// Colours of scores and KPI health.
const (
	Red    Colour = "red"
	Yellow Colour = "yellow"
	Green  Colour = "green"
)

// ScoreColour returns the colour of a score: 0.0–0.3 red, 0.4–0.6 yellow,
// 0.7–1.0 green. The score is rounded to 0.1 first.
func ScoreColour(score float64) Colour {
	switch s := Score(score); {
	case s >= 0.7:
		return Green
	case s >= 0.4:
		return Yellow
	}
	return Red
}

// Achieved reports whether an objective of the given kind achieved its goal
// with the score: a committed one is met only at 1.0, an aspirational one is a
// success at 0.7 or more.
func Achieved(kind ObjectiveKind, score float64) bool {
	if kind == Committed {
		return Score(score) >= 1
	}
	return Score(score) >= 0.7
}

func clamp01(x float64) float64 {
	switch {
	case math.IsNaN(x) || x <= 0:
		return 0 // never -0, which prints as "-0.0"
	case x > 1:
		return 1
	}
	return x
}
