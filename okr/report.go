package okr

import (
	"math"
	"slices"
	"sort"
	"time"
)

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

// Empty reports whether the team has nothing to summarise.
func (s *Summary) Empty() bool {
	return len(s.Objectives) == 0 && len(s.KPIs) == 0 && s.Expected == 0 && s.Answered == 0
}

// Kinds of report.
const (
	ReportDigest  = "digest"
	ReportSummary = "summary"
)

// States of a report.
const (
	ReportPending = "pending"
	ReportPosted  = "posted"
	ReportFailed  = "failed"
)

// Report is a digest or summary due in a team's channel: an outbox entry,
// claimed by a poster, posted once and marked.
type Report struct {
	ID     int64  `db:"id"`
	TeamID int64  `db:"team_id"`
	Kind   string `db:"kind"` // ReportDigest or ReportSummary
	// Key tells one report of a team and kind from another: the ISO date
	// of a scheduled digest's day, the period label of a summary, or
	// "manual:" and a unique suffix for one asked for.
	Key       string     `db:"key"`
	State     string     `db:"state"` // pending, posted, failed
	Attempts  int        `db:"attempts"`
	Reason    string     `db:"reason"`
	ChannelID string     `db:"channel_id"`
	MessageTS string     `db:"message_ts"`
	CreatedAt time.Time  `db:"created_at"`
	PostedAt  *time.Time `db:"posted_at"`
	// Recovered is set on a report claimed from a poster whose claim
	// expired: its message may have been posted.
	Recovered bool `db:"-"`
}

// Weeks returns the start of each week of a period: 7-day steps from
// p.Start, in p.Start's location (so a week starts at the same local time
// across a DST change). The last week ends at p.End and may be shorter.
func Weeks(p Period) []time.Time {
	var weeks []time.Time
	for t := p.Start; t.Before(p.End); t = p.Start.AddDate(0, 0, 7*len(weeks)) {
		weeks = append(weeks, t)
	}
	return weeks
}

// CorrectedUpdates returns the updates that are not corrections, in the
// order given, each with the value, confidence, status and comment of the
// latest correction of it (by CreatedAt, then ID), if any; a correction of
// a correction corrects the update at the start of the chain. A correction
// of an update not in updates is dropped. With no correction among them,
// it returns updates itself.
func CorrectedUpdates(updates []KRUpdate) []KRUpdate {
	if !slices.ContainsFunc(updates, func(u KRUpdate) bool { return u.CorrectsID != nil }) {
		return updates
	}
	byID := make(map[int64]int, len(updates))
	for i, u := range updates {
		byID[u.ID] = i
	}
	// root follows corrects_id to the update that is not a correction; -1
	// when the chain leaves updates or loops.
	root := func(i int) int {
		for range len(updates) + 1 {
			if updates[i].CorrectsID == nil {
				return i
			}
			j, ok := byID[*updates[i].CorrectsID]
			if !ok {
				return -1
			}
			i = j
		}
		return -1
	}
	latest := make(map[int]int) // root → its latest correction
	for i, u := range updates {
		if u.CorrectsID == nil {
			continue
		}
		r := root(i)
		if r < 0 {
			continue
		}
		if l, ok := latest[r]; !ok || later(u, updates[l]) {
			latest[r] = i
		}
	}
	out := make([]KRUpdate, 0, len(updates)-len(latest))
	for i, u := range updates {
		if u.CorrectsID != nil {
			continue
		}
		if l, ok := latest[i]; ok {
			c := updates[l]
			u.Value, u.Confidence, u.Status, u.Comment = c.Value, c.Confidence, c.Status, c.Comment
		}
		out = append(out, u)
	}
	return out
}

func later(a, b KRUpdate) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// AsOf returns the key result with Current set to its value at t: the
// value of the last of updates made at or before t, or its start value
// when there is none. updates are the key result's, corrected
// (CorrectedUpdates) and sorted by CreatedAt.
func (kr *KeyResult) AsOf(updates []KRUpdate, t time.Time) KeyResult {
	k := *kr
	k.Current = k.Start
	// The first update after t.
	i := sort.Search(len(updates), func(i int) bool { return updates[i].CreatedAt.After(t) })
	if i > 0 {
		k.Current = updates[i-1].Value
	}
	return k
}

// WeeklyProgress returns a key result's progress, clamped to [0, 1], at the
// end of each week that starts at weeks[i] and ends at weeks[i+1] (the last
// at periodEnd): its value at the week's last instant (KeyResult.AsOf, so
// an update made as the next week starts is the next week's); for the week
// under way at now, its value at now; and NaN for a week that starts after
// now. updates are the key result's, corrected and sorted by CreatedAt.
func WeeklyProgress(kr KeyResult, updates []KRUpdate, weeks []time.Time, periodEnd, now time.Time) []float64 {
	progress := make([]float64, len(weeks))
	for i, start := range weeks {
		if start.After(now) {
			progress[i] = math.NaN()
			continue
		}
		end := periodEnd
		if i+1 < len(weeks) {
			end = weeks[i+1]
		}
		k := kr.AsOf(updates, LastInstant(end, now))
		progress[i] = k.Progress()
	}
	return progress
}

// LastInstant returns the instant whose values count for a span that ends
// at end (exclusive), looked at now: now while the span is under way, else
// the last instant before end.
func LastInstant(end, now time.Time) time.Time {
	if last := end.Add(-time.Nanosecond); last.Before(now) {
		return last
	}
	return now
}

// HealthShares returns how a KPI's time from `from` to `to` was split
// between its healths, given its readings sorted by time. Each reading's
// health holds until the next reading; the time counted starts at the
// first reading in [from, to), or at from when a reading before from holds
// then. Readings is how many were taken in [from, to), so it may be 0 with
// shares set, when one reading before from held throughout. With no reading
// before `to`, or `to` not after `from`, every share is 0.
func HealthShares(k KPI, readings []Reading, from, to time.Time) KPIShare {
	share := KPIShare{KPI: k}
	if !to.After(from) {
		return share
	}
	var green, yellow, red time.Duration
	for i, r := range readings {
		if !r.At.Before(to) {
			break
		}
		if !r.At.Before(from) {
			share.Readings++
		}
		start := r.At
		if start.Before(from) {
			start = from
		}
		end := to
		if i+1 < len(readings) && readings[i+1].At.Before(to) {
			end = readings[i+1].At
		}
		if !end.After(start) {
			continue // superseded before from, or read at the same time as the next
		}
		switch k.Health(r.Value) {
		case Green:
			green += end.Sub(start)
		case Yellow:
			yellow += end.Sub(start)
		default:
			red += end.Sub(start)
		}
	}
	total := green + yellow + red
	if total == 0 {
		return share
	}
	share.Green = float64(green) / float64(total)
	share.Yellow = float64(yellow) / float64(total)
	share.Red = float64(red) / float64(total)
	return share
}

// Grade grades an objective at the end of its period, with the final value
// of each key result by id (the key result's Current when it has none):
// each key result's score is Score of its progress at that value, the
// objective's score is Score of the mean progress (0 with no key results),
// its colour ScoreColour, Achieved the rule of its kind, and CarryOver is
// set for an active aspirational objective that was not a success.
func Grade(o Objective, finals map[int64]float64) ObjectiveScore {
	g := ObjectiveScore{Objective: o, KRs: make([]KRScore, len(o.KeyResults))}
	var sum float64
	for i, kr := range o.KeyResults {
		final, ok := finals[kr.ID]
		if !ok {
			final = kr.Current
		}
		k := kr
		k.Current = final
		p := k.Progress()
		sum += p
		g.KRs[i] = KRScore{KeyResult: kr, Final: final, Score: Score(p)}
	}
	var progress float64
	if n := len(o.KeyResults); n > 0 {
		progress = sum / float64(n)
	}
	g.Score = Score(progress)
	g.Colour = ScoreColour(g.Score)
	g.Achieved = Achieved(o.Kind, g.Score)
	g.CarryOver = o.Kind == Aspirational && !g.Achieved && o.Status == Active
	return g
}
