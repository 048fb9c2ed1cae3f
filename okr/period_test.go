package okr_test

import (
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func lastInstant(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 999999999, time.UTC)
}

func mustLoadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func mustParsePeriod(t *testing.T, label string, fyStart time.Month, loc *time.Location) okr.Period {
	t.Helper()
	p, err := okr.ParsePeriod(label, fyStart, loc)
	if err != nil {
		t.Fatalf("ParsePeriod(%q) got error %v, want nil", label, err)
	}
	return p
}

// checkPeriod fails t unless p has the label, bounds and location wanted.
func checkPeriod(t *testing.T, p okr.Period, wantLabel string, wantStart, wantEnd time.Time) {
	t.Helper()
	if got := p.Label(); got != wantLabel {
		t.Errorf("Label() got %q, want %q", got, wantLabel)
	}
	if !p.Start.Equal(wantStart) {
		t.Errorf("Start got %v, want %v", p.Start, wantStart)
	}
	if !p.End.Equal(wantEnd) {
		t.Errorf("End got %v, want %v", p.End, wantEnd)
	}
	if got, want := p.Start.Location(), wantStart.Location(); got != want {
		t.Errorf("Start location got %v, want %v", got, want)
	}
}

func TestQuarterOf(t *testing.T) {
	tests := []struct {
		name      string
		fyStart   time.Month
		t         time.Time
		wantLabel string
		wantStart time.Time
		wantEnd   time.Time
	}{
		{"Jan FY: first instant of Q1", time.January, date(2027, 1, 1), "2027-Q1", date(2027, 1, 1), date(2027, 4, 1)},
		{"Jan FY: last day of Q1", time.January, lastInstant(2027, 3, 31), "2027-Q1", date(2027, 1, 1), date(2027, 4, 1)},
		{"Jan FY: first instant of Q2", time.January, date(2027, 4, 1), "2027-Q2", date(2027, 4, 1), date(2027, 7, 1)},
		{"Jan FY: last day of Q3", time.January, lastInstant(2027, 9, 30), "2027-Q3", date(2027, 7, 1), date(2027, 10, 1)},
		{"Jan FY: last day of Q4", time.January, lastInstant(2027, 12, 31), "2027-Q4", date(2027, 10, 1), date(2028, 1, 1)},
		{"Apr FY: first instant of Q1", time.April, date(2027, 4, 1), "2027-Q1", date(2027, 4, 1), date(2027, 7, 1)},
		{"Apr FY: last day of Q1", time.April, lastInstant(2027, 6, 30), "2027-Q1", date(2027, 4, 1), date(2027, 7, 1)},
		{"Apr FY: first instant of Q2", time.April, date(2027, 7, 1), "2027-Q2", date(2027, 7, 1), date(2027, 10, 1)},
		{"Apr FY: New Year's Eve is Q3", time.April, lastInstant(2027, 12, 31), "2027-Q3", date(2027, 10, 1), date(2028, 1, 1)},
		{"Apr FY: New Year's Day is Q4 of the year before", time.April, date(2028, 1, 1), "2027-Q4", date(2028, 1, 1), date(2028, 4, 1)},
		{"Apr FY: last day of Q4", time.April, lastInstant(2028, 3, 31), "2027-Q4", date(2028, 1, 1), date(2028, 4, 1)},
		{"Oct FY: first instant of Q1", time.October, date(2027, 10, 1), "2027-Q1", date(2027, 10, 1), date(2028, 1, 1)},
		{"Oct FY: last day of Q1", time.October, lastInstant(2027, 12, 31), "2027-Q1", date(2027, 10, 1), date(2028, 1, 1)},
		{"Oct FY: New Year's Day is Q2", time.October, date(2028, 1, 1), "2027-Q2", date(2028, 1, 1), date(2028, 4, 1)},
		{"Oct FY: first instant of Q3", time.October, date(2028, 4, 1), "2027-Q3", date(2028, 4, 1), date(2028, 7, 1)},
		{"Oct FY: last day of Q4", time.October, lastInstant(2027, 9, 30), "2026-Q4", date(2027, 7, 1), date(2027, 10, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := okr.QuarterOf(tt.t, tt.fyStart)
			if p.Kind != okr.Quarter {
				t.Errorf("Kind got %q, want %q", p.Kind, okr.Quarter)
			}
			checkPeriod(t, p, tt.wantLabel, tt.wantStart, tt.wantEnd)
			if !p.Contains(tt.t) {
				t.Errorf("Contains(%v) got false, want true", tt.t)
			}
		})
	}
}

func TestYearOf(t *testing.T) {
	tests := []struct {
		name      string
		fyStart   time.Month
		t         time.Time
		wantLabel string
		wantStart time.Time
		wantEnd   time.Time
	}{
		{"Jan FY: first instant", time.January, date(2027, 1, 1), "2027", date(2027, 1, 1), date(2028, 1, 1)},
		{"Jan FY: last day", time.January, lastInstant(2027, 12, 31), "2027", date(2027, 1, 1), date(2028, 1, 1)},
		{"Apr FY: first instant", time.April, date(2027, 4, 1), "2027", date(2027, 4, 1), date(2028, 4, 1)},
		{"Apr FY: last day of the year before", time.April, lastInstant(2027, 3, 31), "2026", date(2026, 4, 1), date(2027, 4, 1)},
		{"Apr FY: New Year's Day", time.April, date(2028, 1, 1), "2027", date(2027, 4, 1), date(2028, 4, 1)},
		{"Oct FY: first instant", time.October, date(2027, 10, 1), "2027", date(2027, 10, 1), date(2028, 10, 1)},
		{"Oct FY: last day of the year before", time.October, lastInstant(2027, 9, 30), "2026", date(2026, 10, 1), date(2027, 10, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := okr.YearOf(tt.t, tt.fyStart)
			if p.Kind != okr.Year || p.Quarter != 0 {
				t.Errorf("Kind, Quarter got %q, %d, want %q, 0", p.Kind, p.Quarter, okr.Year)
			}
			checkPeriod(t, p, tt.wantLabel, tt.wantStart, tt.wantEnd)
			if !p.Contains(tt.t) {
				t.Errorf("Contains(%v) got false, want true", tt.t)
			}
		})
	}
}

func TestPeriodsInLocation(t *testing.T) {
	la := mustLoadLocation(t, "America/Los_Angeles")
	// 03:00 UTC on New Year's Day 2027 is still 19:00 on New Year's Eve in Los Angeles.
	instant := time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		t         time.Time
		wantLabel string
		wantStart time.Time
		wantEnd   time.Time
		wantYear  string
	}{
		{"UTC", instant, "2027-Q1", date(2027, 1, 1), date(2027, 4, 1), "2027"},
		{"Los Angeles", instant.In(la), "2026-Q4", time.Date(2026, 10, 1, 0, 0, 0, 0, la), time.Date(2027, 1, 1, 0, 0, 0, 0, la), "2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := okr.QuarterOf(tt.t, time.January)
			checkPeriod(t, p, tt.wantLabel, tt.wantStart, tt.wantEnd)
			if got := okr.YearOf(tt.t, time.January).Label(); got != tt.wantYear {
				t.Errorf("YearOf label got %q, want %q", got, tt.wantYear)
			}
			parsed := mustParsePeriod(t, tt.wantLabel, time.January, tt.t.Location())
			checkPeriod(t, parsed, tt.wantLabel, tt.wantStart, tt.wantEnd)
		})
	}
	// The Los Angeles quarter starts eight hours after the UTC one.
	utcQ1 := mustParsePeriod(t, "2027-Q1", time.January, time.UTC)
	laQ1 := mustParsePeriod(t, "2027-Q1", time.January, la)
	if got, want := laQ1.Start.Sub(utcQ1.Start), 8*time.Hour; got != want {
		t.Errorf("LA start minus UTC start got %v, want %v", got, want)
	}
	if laQ1.Contains(instant) {
		t.Errorf("LA 2027-Q1 Contains(%v) got true, want false", instant)
	}
	if !utcQ1.Contains(instant) {
		t.Errorf("UTC 2027-Q1 Contains(%v) got false, want true", instant)
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		label     string
		fyStart   time.Month
		wantKind  okr.PeriodKind
		wantLabel string
		wantStart time.Time
		wantEnd   time.Time
	}{
		{"2027-Q1", time.January, okr.Quarter, "2027-Q1", date(2027, 1, 1), date(2027, 4, 1)},
		{"2027q3", time.January, okr.Quarter, "2027-Q3", date(2027, 7, 1), date(2027, 10, 1)},
		{"2027Q2", time.January, okr.Quarter, "2027-Q2", date(2027, 4, 1), date(2027, 7, 1)},
		{"2027-q4", time.January, okr.Quarter, "2027-Q4", date(2027, 10, 1), date(2028, 1, 1)},
		{"2027", time.January, okr.Year, "2027", date(2027, 1, 1), date(2028, 1, 1)},
		{"  2027-Q1 \t", time.January, okr.Quarter, "2027-Q1", date(2027, 1, 1), date(2027, 4, 1)},
		{" 2027 ", time.January, okr.Year, "2027", date(2027, 1, 1), date(2028, 1, 1)},
		{"2027-Q1", time.April, okr.Quarter, "2027-Q1", date(2027, 4, 1), date(2027, 7, 1)},
		{"2027-Q4", time.April, okr.Quarter, "2027-Q4", date(2028, 1, 1), date(2028, 4, 1)},
		{"2027", time.April, okr.Year, "2027", date(2027, 4, 1), date(2028, 4, 1)},
		{"2027-Q2", time.October, okr.Quarter, "2027-Q2", date(2028, 1, 1), date(2028, 4, 1)},
		{"2000", time.January, okr.Year, "2000", date(2000, 1, 1), date(2001, 1, 1)},
		{"2100-Q4", time.January, okr.Quarter, "2100-Q4", date(2100, 10, 1), date(2101, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.label+"/"+tt.fyStart.String(), func(t *testing.T) {
			p := mustParsePeriod(t, tt.label, tt.fyStart, time.UTC)
			if p.Kind != tt.wantKind {
				t.Errorf("Kind got %q, want %q", p.Kind, tt.wantKind)
			}
			checkPeriod(t, p, tt.wantLabel, tt.wantStart, tt.wantEnd)
			if got := p.String(); got != tt.wantLabel {
				t.Errorf("String() got %q, want %q", got, tt.wantLabel)
			}
			// The canonical label parses back to the same period.
			again := mustParsePeriod(t, p.Label(), tt.fyStart, time.UTC)
			if again != p {
				t.Errorf("ParsePeriod(Label()) got %+v, want %+v", again, p)
			}
		})
	}
}

func TestParsePeriod_Rejects(t *testing.T) {
	for _, label := range []string{"2027-Q5", "27-Q1", "Q1", "", "   ", "2027-Q0", "1999", "2101", "2027 Q1", "2027-Q1x", "2027-H1", "20270", "2027--Q1", "-2027"} {
		t.Run(label, func(t *testing.T) {
			p, err := okr.ParsePeriod(label, time.January, time.UTC)
			if err == nil {
				t.Fatalf("ParsePeriod(%q) got %v, want an error", label, p)
			}
			if got := okr.ErrorCode(err); got != okr.EINVALID {
				t.Errorf("ErrorCode got %q, want %q", got, okr.EINVALID)
			}
			if okr.ErrorMessage(err) == "" {
				t.Errorf("ErrorMessage got empty, want a message")
			}
		})
	}
}

func TestPeriod_LabelRoundTrip(t *testing.T) {
	for _, fy := range []time.Month{time.January, time.April, time.October} {
		for m := time.January; m <= time.December; m++ {
			at := time.Date(2027, m, 15, 12, 0, 0, 0, time.UTC)
			for _, p := range []okr.Period{okr.QuarterOf(at, fy), okr.YearOf(at, fy)} {
				t.Run(fy.String()+"/"+m.String()+"/"+p.Label(), func(t *testing.T) {
					got := mustParsePeriod(t, p.Label(), fy, time.UTC)
					if got != p {
						t.Errorf("ParsePeriod(%q) got %+v, want %+v", p.Label(), got, p)
					}
				})
			}
		}
	}
}

func TestPeriod_Next(t *testing.T) {
	tests := []struct {
		label     string
		fyStart   time.Month
		wantLabel string
		wantStart time.Time
		wantEnd   time.Time
	}{
		{"2027-Q1", time.January, "2027-Q2", date(2027, 4, 1), date(2027, 7, 1)},
		{"2027-Q3", time.January, "2027-Q4", date(2027, 10, 1), date(2028, 1, 1)},
		{"2027-Q4", time.January, "2028-Q1", date(2028, 1, 1), date(2028, 4, 1)},
		{"2027-Q3", time.April, "2027-Q4", date(2028, 1, 1), date(2028, 4, 1)},
		{"2027-Q4", time.April, "2028-Q1", date(2028, 4, 1), date(2028, 7, 1)},
		{"2027-Q1", time.October, "2027-Q2", date(2028, 1, 1), date(2028, 4, 1)},
		{"2027-Q4", time.October, "2028-Q1", date(2028, 10, 1), date(2029, 1, 1)},
		{"2027", time.January, "2028", date(2028, 1, 1), date(2029, 1, 1)},
		{"2027", time.April, "2028", date(2028, 4, 1), date(2029, 4, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.label+"/"+tt.fyStart.String(), func(t *testing.T) {
			next := mustParsePeriod(t, tt.label, tt.fyStart, time.UTC).Next()
			checkPeriod(t, next, tt.wantLabel, tt.wantStart, tt.wantEnd)
			if want := mustParsePeriod(t, tt.wantLabel, tt.fyStart, time.UTC); next != want {
				t.Errorf("Next() got %+v, want %+v", next, want)
			}
		})
	}
}

func TestPeriod_Contains(t *testing.T) {
	q := mustParsePeriod(t, "2027-Q2", time.January, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"long before", date(2026, 5, 1), false},
		{"last instant before", date(2027, 4, 1).Add(-time.Nanosecond), false},
		{"first instant", date(2027, 4, 1), true},
		{"middle", date(2027, 5, 15), true},
		{"last instant", lastInstant(2027, 6, 30), true},
		{"end is exclusive", date(2027, 7, 1), false},
		{"after", date(2027, 8, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := q.Contains(tt.t); got != tt.want {
				t.Errorf("Contains(%v) got %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

func TestPeriod_DateRange(t *testing.T) {
	tests := []struct {
		label   string
		fyStart time.Month
		want    string
	}{
		{"2027-Q1", time.January, "Jan 1 – Mar 31, 2027"},
		{"2027-Q4", time.January, "Oct 1 – Dec 31, 2027"},
		{"2027-Q1", time.April, "Apr 1 – Jun 30, 2027"},
		{"2027-Q4", time.April, "Jan 1 – Mar 31, 2028"},
		{"2027-Q1", time.October, "Oct 1 – Dec 31, 2027"},
		{"2027", time.January, "Jan 1 – Dec 31, 2027"},
		{"2027", time.April, "Apr 1, 2027 – Mar 31, 2028"},
		{"2028-Q1", time.January, "Jan 1 – Mar 31, 2028"},
	}
	for _, tt := range tests {
		t.Run(tt.label+"/"+tt.fyStart.String(), func(t *testing.T) {
			if got := mustParsePeriod(t, tt.label, tt.fyStart, time.UTC).DateRange(); got != tt.want {
				t.Errorf("DateRange() got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPeriod_Elapsed(t *testing.T) {
	// 2027-Q1 with a January fiscal year is 90 days long.
	q := mustParsePeriod(t, "2027-Q1", time.January, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		t    time.Time
		want float64
	}{
		{"before the start", q.Start.Add(-day), 0},
		{"at the start", q.Start, 0},
		{"a third in", q.Start.Add(30 * day), 1.0 / 3},
		{"halfway", q.Start.Add(45 * day), 0.5},
		{"one day before the end", q.End.Add(-day), 89.0 / 90},
		{"at the end", q.End, 1},
		{"after the end", q.End.Add(day), 1},
		{"a zero period", time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := q.Elapsed(tt.t); got != tt.want {
				t.Errorf("Elapsed(%v) got %v, want %v", tt.t, got, tt.want)
			}
		})
	}
	if got := (okr.Period{}).Elapsed(q.Start); got != 0 {
		t.Errorf("empty Period Elapsed got %v, want 0", got)
	}
}

func TestPeriod_ElapsedDrivesBehindPace(t *testing.T) {
	q := mustParsePeriod(t, "2027-Q1", time.January, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name     string
		t        time.Time
		progress float64
		want     bool
	}{
		{"day 29, no progress: too early to tell", q.Start.Add(29 * day), 0, false},
		{"day 30, no progress: behind", q.Start.Add(30 * day), 0, true},
		{"halfway, progress 0.25: not behind", q.Start.Add(45 * day), 0.25, false},
		{"halfway, progress 0.24: behind", q.Start.Add(45 * day), 0.24, true},
		{"after the end, progress 0.75: not behind", q.End.Add(day), 0.75, false},
		{"after the end, progress 0.7: behind", q.End.Add(day), 0.7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.BehindPace(tt.progress, q.Elapsed(tt.t)); got != tt.want {
				t.Errorf("BehindPace(%v, Elapsed) got %v, want %v", tt.progress, got, tt.want)
			}
		})
	}
}
