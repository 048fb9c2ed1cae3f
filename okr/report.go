package okr

import "time"

// Reports: what a team's weekly digest and quarterly summary say. The store
// gathers them; the bot lays them out; the chart draws Summary.Series.

// Digest is a team's weekly digest: where its objectives and KPIs stand now,
// and what happened since the previous digest.
type Digest struct {
	Team   Team
	Period Period
	// At is when the digest was built; Since is when the previous one was
	// (or a week before At when there was none).
	At, Since  time.Time
	Objectives []DigestObjective
	// AtRisk are the key results last reported at risk or off track, worst
	// first.
	AtRisk []KeyResult
	KPIs   []KPIStatus
	// Blockers are the blockers raised in check-ins answered since Since,
	// oldest first.
	Blockers      []Blocker
	Participation Participation
}

// Empty reports whether the team has nothing to digest yet.
func (d *Digest) Empty() bool {
	return len(d.Objectives) == 0 && len(d.KPIs) == 0 && d.Participation.Total() == 0
}

// DigestObjective is an objective with its progress now and at the
// previous digest.
type DigestObjective struct {
	Objective Objective // with its key results
	Progress  float64
	// Previous is the progress at the previous digest; nil when the
	// objective did not exist then or there was no previous digest.
	Previous *float64
}

// KPIStatus is a KPI with its latest readings.
type KPIStatus struct {
	KPI KPI
	// Latest is the last reading, nil when none.
	Latest *Reading
	Health Colour // "" when there is no reading
	// Trend holds the values of the last readings, oldest first (at most 8).
	Trend []float64
}

// Blocker is a blocker someone raised in a check-in.
type Blocker struct {
	UserID string
	Text   string
	At     time.Time
}

// Participation is who did what with the check-ins of a cycle: user ids.
type Participation struct {
	Answered, Skipped, Missed, Away, Pending []string
}

// Total is how many people were asked (or would have been, for the away).
func (p Participation) Total() int {
	return len(p.Answered) + len(p.Skipped) + len(p.Missed) + len(p.Away) + len(p.Pending)
}

// Summary is a team's end-of-quarter summary.
type Summary struct {
	Team   Team
	Period Period
	At     time.Time
	// Closed reports whether the quarter was closed and its scores frozen.
	Closed     bool
	Objectives []ObjectiveScore
	KPIs       []KPIShare
	// Answered of Expected check-ins of the quarter (away ones are not
	// expected).
	Answered, Expected int
	// Weeks are the starts of the quarter's weeks, for Series.
	Weeks  []time.Time
	Series []KRSeries
}

// ParticipationRate is Answered/Expected, 0 when nothing was expected.
func (s *Summary) ParticipationRate() float64 {
	if s.Expected == 0 {
		return 0
	}
	return float64(s.Answered) / float64(s.Expected)
}

// ObjectiveScore is an objective graded at the end of its period.
type ObjectiveScore struct {
	Objective Objective
	KRs       []KRScore
	Score     float64 // Score(progress): rounded to 0.1
	Colour    Colour
	// Achieved is "met" for a committed objective, "success" for an
	// aspirational one.
	Achieved bool
	// CarryOver reports whether the objective should go on next quarter:
	// an unfinished aspirational objective.
	CarryOver bool
}

// KRScore is a key result graded at the end of its period.
type KRScore struct {
	KeyResult KeyResult
	// Final is the value at the end of the period (or now, for an open one).
	Final float64
	Score float64
}

// KPIShare is how a KPI's time was split between its healths over a period:
// shares of the time from its first reading in the period to the period's
// end (or now), each 0–1.
type KPIShare struct {
	KPI                KPI
	Green, Yellow, Red float64
	Readings           int
}

// KRSeries is a key result's progress at the end of each week of a period
// (Summary.Weeks), clamped to [0, 1]; NaN for weeks not reached yet.
type KRSeries struct {
	KeyResultID int64
	Title       string
	Progress    []float64
}
