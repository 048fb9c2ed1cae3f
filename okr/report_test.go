package okr_test

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// day returns midnight UTC of a date in 2027.
func day(month time.Month, d int) time.Time {
	return time.Date(2027, month, d, 0, 0, 0, 0, time.UTC)
}

func TestWeeks(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(label string, fy time.Month, loc *time.Location) okr.Period {
		p, err := okr.ParsePeriod(label, fy, loc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		p         okr.Period
		wantN     int
		wantFirst time.Time
		wantLast  time.Time
	}{
		{"91 days are 13 weeks", parse("2027-Q1", time.April, time.UTC), 13, day(time.April, 1), day(time.June, 24)},
		{"92 days end with a week of one day", parse("2027-Q2", time.April, time.UTC), 14, day(time.July, 1), day(time.September, 30)},
		{"a leap February", parse("2027-Q4", time.April, time.UTC), 13,
			time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 25, 0, 0, 0, 0, time.UTC)},
		{"a year", parse("2027", time.January, berlin), 53,
			time.Date(2027, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 12, 31, 0, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weeks := okr.Weeks(tt.p)
			if len(weeks) != tt.wantN {
				t.Fatalf("weeks: got %d, want %d", len(weeks), tt.wantN)
			}
			if !weeks[0].Equal(tt.wantFirst) || !weeks[len(weeks)-1].Equal(tt.wantLast) {
				t.Errorf("first and last: got %v and %v, want %v and %v", weeks[0], weeks[len(weeks)-1], tt.wantFirst, tt.wantLast)
			}
			for i, w := range weeks {
				if w.Hour() != 0 || w.Minute() != 0 || w.Weekday() != weeks[0].Weekday() {
					t.Errorf("week %d: got %v, want local midnight of a %v", i, w, weeks[0].Weekday())
				}
			}
		})
	}
	t.Run("a week across the change to summer time is an hour short", func(t *testing.T) {
		weeks := okr.Weeks(parse("2027", time.January, berlin))
		// Summer time starts on Sunday 28 March 2027, in the week of Friday 26.
		if got, want := weeks[13].Sub(weeks[12]), 7*24*time.Hour-time.Hour; got != want {
			t.Errorf("week of %v: got %v, want %v", weeks[12], got, want)
		}
	})
}

func TestCorrectedUpdates(t *testing.T) {
	id := func(n int64) *int64 { return &n }
	at := func(h int) time.Time { return day(time.April, 1).Add(time.Duration(h) * time.Hour) }
	updates := []okr.KRUpdate{
		{ID: 1, Value: 10, Confidence: 7, Comment: "first", CreatedAt: at(1)},
		{ID: 2, Value: 20, Confidence: 6, CreatedAt: at(2)},
		{ID: 3, Value: 15, Confidence: 5, CorrectsID: id(1), CreatedAt: at(3)},
		{ID: 4, Value: 18, Confidence: 4, CorrectsID: id(2), CreatedAt: at(5)},
		// A correction of the correction of 1, the latest of its chain.
		{ID: 5, Value: 17, Confidence: 8, Comment: "typo", CorrectsID: id(3), CreatedAt: at(6)},
		// An older correction of 2, stored later: 4 is the latest.
		{ID: 6, Value: 99, CorrectsID: id(2), CreatedAt: at(4)},
		// A correction of an update not given.
		{ID: 7, Value: 50, CorrectsID: id(42), CreatedAt: at(7)},
		{ID: 8, Value: 30, CreatedAt: at(8)},
	}
	got := okr.CorrectedUpdates(updates)
	want := []okr.KRUpdate{
		{ID: 1, Value: 17, Confidence: 8, Comment: "typo", CreatedAt: at(1)},
		{ID: 2, Value: 18, Confidence: 4, CreatedAt: at(2)},
		{ID: 8, Value: 30, CreatedAt: at(8)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CorrectedUpdates:\ngot  %+v\nwant %+v", got, want)
	}
	if len(okr.CorrectedUpdates(nil)) != 0 {
		t.Errorf("no updates: want none")
	}
	loop := []okr.KRUpdate{{ID: 1, CorrectsID: id(2)}, {ID: 2, CorrectsID: id(1)}, {ID: 3, Value: 4}}
	if got := okr.CorrectedUpdates(loop); len(got) != 1 || got[0].ID != 3 || got[0].Value != 4 {
		t.Errorf("a loop of corrections: got %+v, want update 3 alone", got)
	}
}

func TestKeyResultAsOf(t *testing.T) {
	kr := okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 5}
	updates := []okr.KRUpdate{
		{Value: 10, CreatedAt: day(time.April, 3)},
		{Value: 8, CreatedAt: day(time.April, 10)},
		{Value: 6, CreatedAt: day(time.April, 10)}, // the same instant: the later one holds
	}
	tests := []struct {
		at   time.Time
		want float64
	}{
		{day(time.April, 1), 12},
		{day(time.April, 3).Add(-time.Nanosecond), 12},
		{day(time.April, 3), 10},
		{day(time.April, 9), 10},
		{day(time.April, 10), 6},
		{day(time.June, 1), 6},
	}
	for _, tt := range tests {
		got := kr.AsOf(updates, tt.at)
		if got.Current != tt.want {
			t.Errorf("AsOf(%v): got %v, want %v", tt.at, got.Current, tt.want)
		}
	}
	if kr.Current != 5 {
		t.Errorf("AsOf changed the key result: Current is %v", kr.Current)
	}
}

func TestWeeklyProgress(t *testing.T) {
	q1, err := okr.ParsePeriod("2027-Q1", time.April, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	weeks := okr.Weeks(q1) // Apr 1, 8, 15, 22, 29, May 6, …
	nan := math.NaN()
	metric := okr.KeyResult{Kind: okr.Metric, Start: 0, Target: 100, Current: 80}
	updates := []okr.KRUpdate{
		{Value: 10, CreatedAt: day(time.April, 3)},
		{Value: 20, CreatedAt: day(time.April, 8)}, // as week 1 starts: week 1's
		{Value: 50, CreatedAt: day(time.April, 20)},
		{Value: 150, CreatedAt: day(time.April, 23)},
		{Value: -10, CreatedAt: day(time.May, 1)},
		{Value: 80, CreatedAt: day(time.May, 4)}, // after now
	}
	now := day(time.May, 3).Add(12 * time.Hour)
	rest := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = nan
		}
		return out
	}
	tests := []struct {
		name    string
		kr      okr.KeyResult
		updates []okr.KRUpdate
		now     time.Time
		want    []float64
	}{
		{"a metric, part way through", metric, updates, now,
			append([]float64{0.1, 0.2, 0.5, 1, 0}, rest(8)...)},
		{"no updates: the start value", metric, nil, now,
			append([]float64{0, 0, 0, 0, 0}, rest(8)...)},
		{"now at a week's start: that week is under way", metric, updates, day(time.April, 22),
			append([]float64{0.1, 0.2, 0.5, 0.5}, rest(9)...)},
		{"before the period: nothing yet", metric, updates, day(time.March, 1), rest(13)},
		{"a decreasing key result", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4},
			[]okr.KRUpdate{{Value: 10, CreatedAt: day(time.April, 10)}, {Value: 2, CreatedAt: day(time.April, 16)}},
			day(time.April, 20), append([]float64{0, 0.25, 1}, rest(10)...)},
		{"a milestone", okr.KeyResult{Kind: okr.Milestone, Start: 0, Target: 1},
			[]okr.KRUpdate{{Value: 1, CreatedAt: day(time.April, 20)}},
			day(time.April, 20), append([]float64{0, 0, 1}, rest(10)...)},
		{"after the period: the last week ends with it, an update at its end is the next period's", metric,
			[]okr.KRUpdate{{Value: 40, CreatedAt: day(time.June, 30)}, {Value: 90, CreatedAt: day(time.July, 1)}},
			day(time.August, 1), []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := okr.WeeklyProgress(tt.kr, tt.updates, weeks, q1.End, tt.now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d weeks, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if math.IsNaN(got[i]) != math.IsNaN(tt.want[i]) || (!math.IsNaN(got[i]) && !approx(got[i], tt.want[i])) {
					t.Errorf("week %d (%s): got %v, want %v", i, weeks[i].Format("Jan 2"), got[i], tt.want[i])
				}
			}
		})
	}
}

func TestHealthShares(t *testing.T) {
	higher := okr.KPI{ID: 7, Direction: okr.HigherIsBetter, Warning: 95, Critical: 90}
	lower := okr.KPI{ID: 8, Direction: okr.LowerIsBetter, Warning: 4, Critical: 8}
	from, to := day(time.April, 1), day(time.April, 11) // ten days
	r := func(d int, v float64) okr.Reading {
		if d <= 0 {
			return okr.Reading{At: day(time.March, 31+d), Value: v}
		}
		return okr.Reading{At: day(time.April, d), Value: v}
	}
	tests := []struct {
		name               string
		kpi                okr.KPI
		readings           []okr.Reading
		from, to           time.Time
		green, yellow, red float64
		wantReadings       int
	}{
		{"no readings", higher, nil, from, to, 0, 0, 0, 0},
		{"one before the range holds throughout", higher, []okr.Reading{r(-10, 92)}, from, to, 0, 1, 0, 0},
		{"only the last one before the range counts", higher, []okr.Reading{r(-20, 80), r(-10, 99)}, from, to, 1, 0, 0, 0},
		{"one before, then changes", higher,
			[]okr.Reading{r(-1, 99), r(3, 92), r(6, 80), r(8, 97)}, from, to, 0.5, 0.3, 0.2, 3},
		{"none before: from the first in the range", higher,
			[]okr.Reading{r(6, 80), r(9, 99)}, from, to, 0.4, 0, 0.6, 2},
		{"a reading at from is in the range", higher, []okr.Reading{r(1, 85)}, from, to, 0, 0, 1, 1},
		{"readings at or after to do not count", higher,
			[]okr.Reading{r(1, 99), r(6, 92), r(11, 0), r(12, 0)}, from, to, 0.5, 0.5, 0, 2},
		{"two at one instant: the later holds", higher,
			[]okr.Reading{r(1, 99), r(6, 80), r(6, 93)}, from, to, 0.5, 0.5, 0, 3},
		{"lower is better", lower,
			[]okr.Reading{r(1, 3), r(3, 5), r(5, 9), r(10, 4)}, from, to, 0.3, 0.2, 0.5, 4},
		{"an empty range", higher, []okr.Reading{r(1, 99)}, to, from, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := okr.HealthShares(tt.kpi, tt.readings, tt.from, tt.to)
			if got.KPI.ID != tt.kpi.ID {
				t.Errorf("KPI: got %d, want %d", got.KPI.ID, tt.kpi.ID)
			}
			if !approx(got.Green, tt.green) || !approx(got.Yellow, tt.yellow) || !approx(got.Red, tt.red) {
				t.Errorf("shares: got green %v yellow %v red %v, want %v %v %v",
					got.Green, got.Yellow, got.Red, tt.green, tt.yellow, tt.red)
			}
			if got.Readings != tt.wantReadings {
				t.Errorf("readings: got %d, want %d", got.Readings, tt.wantReadings)
			}
		})
	}
}

func TestGrade(t *testing.T) {
	kr := func(id int64, start, target, current float64) okr.KeyResult {
		return okr.KeyResult{ID: id, Kind: okr.Metric, Start: start, Target: target, Current: current}
	}
	objective := func(kind okr.ObjectiveKind, status okr.ObjectiveStatus, krs ...okr.KeyResult) okr.Objective {
		return okr.Objective{ID: 9, Kind: kind, Status: status, KeyResults: krs}
	}
	two := []okr.KeyResult{kr(1, 0, 10, 0), kr(2, 0, 10, 0)}
	tests := []struct {
		name      string
		o         okr.Objective
		finals    map[int64]float64
		krScores  []float64
		score     float64
		colour    okr.Colour
		achieved  bool
		carryOver bool
	}{
		{"committed at 0.7 is not met", objective(okr.Committed, okr.Active, two...),
			map[int64]float64{1: 10, 2: 4}, []float64{1, 0.4}, 0.7, okr.Green, false, false},
		{"committed at 0.96 rounds to 1.0 and is met", objective(okr.Committed, okr.Active, two...),
			map[int64]float64{1: 10, 2: 9.2}, []float64{1, 0.9}, 1, okr.Green, true, false},
		{"aspirational at 0.7 is a success", objective(okr.Aspirational, okr.Active, two...),
			map[int64]float64{1: 10, 2: 4}, []float64{1, 0.4}, 0.7, okr.Green, true, false},
		{"aspirational at 0.65 rounds to 0.7: a success", objective(okr.Aspirational, okr.Active, two...),
			map[int64]float64{1: 10, 2: 3}, []float64{1, 0.3}, 0.7, okr.Green, true, false},
		{"aspirational at 0.64 rounds to 0.6: carried over", objective(okr.Aspirational, okr.Active, two...),
			map[int64]float64{1: 10, 2: 2.8}, []float64{1, 0.3}, 0.6, okr.Yellow, false, true},
		{"a closed one is not carried over", objective(okr.Aspirational, okr.Closed, two...),
			map[int64]float64{1: 10, 2: 2.8}, []float64{1, 0.3}, 0.6, okr.Yellow, false, false},
		{"0.35 rounds to 0.4, yellow", objective(okr.Committed, okr.Active, two...),
			map[int64]float64{1: 3, 2: 4}, []float64{0.3, 0.4}, 0.4, okr.Yellow, false, false},
		{"0.34 rounds to 0.3, red", objective(okr.Committed, okr.Active, two...),
			map[int64]float64{1: 3, 2: 3.8}, []float64{0.3, 0.4}, 0.3, okr.Red, false, false},
		{"over and under the range are clamped", objective(okr.Committed, okr.Active, two...),
			map[int64]float64{1: 25, 2: -5}, []float64{1, 0}, 0.5, okr.Yellow, false, false},
		{"no final: the current value", objective(okr.Aspirational, okr.Active, kr(1, 0, 10, 5), kr(2, 0, 10, 0)),
			map[int64]float64{2: 10}, []float64{0.5, 1}, 0.8, okr.Green, true, false},
		{"a decreasing key result and a milestone", objective(okr.Committed, okr.Active,
			kr(1, 12, 4, 12), okr.KeyResult{ID: 2, Kind: okr.Milestone, Target: 1}),
			map[int64]float64{1: 6, 2: 1}, []float64{0.8, 1}, 0.9, okr.Green, false, false},
		{"no key results scores 0", objective(okr.Aspirational, okr.Active),
			nil, []float64{}, 0, okr.Red, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := okr.Grade(tt.o, tt.finals)
			scores := make([]float64, len(g.KRs))
			for i, k := range g.KRs {
				scores[i] = k.Score
				want, ok := tt.finals[k.KeyResult.ID]
				if !ok {
					want = k.KeyResult.Current
				}
				if k.Final != want {
					t.Errorf("KR %d final: got %v, want %v", k.KeyResult.ID, k.Final, want)
				}
			}
			if !reflect.DeepEqual(scores, tt.krScores) {
				t.Errorf("KR scores: got %v, want %v", scores, tt.krScores)
			}
			if g.Score != tt.score || g.Colour != tt.colour || g.Achieved != tt.achieved || g.CarryOver != tt.carryOver {
				t.Errorf("got score %v %s achieved %v carry over %v, want %v %s %v %v",
					g.Score, g.Colour, g.Achieved, g.CarryOver, tt.score, tt.colour, tt.achieved, tt.carryOver)
			}
			if g.Objective.ID != tt.o.ID {
				t.Errorf("objective: got %d, want %d", g.Objective.ID, tt.o.ID)
			}
		})
	}
}

func TestSummaryParticipation(t *testing.T) {
	for _, tt := range []struct {
		answered, expected int
		want               float64
	}{{0, 0, 0}, {3, 4, 0.75}, {4, 4, 1}} {
		t.Run(fmt.Sprint(tt.answered, "/", tt.expected), func(t *testing.T) {
			s := okr.Summary{Answered: tt.answered, Expected: tt.expected}
			if got := s.ParticipationRate(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if !(&okr.Summary{}).Empty() || (&okr.Summary{Expected: 1}).Empty() {
		t.Errorf("Empty: want true for nothing, false with a check-in expected")
	}
}
