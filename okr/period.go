package okr

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PeriodKind says whether a period is a quarter or a whole year.
type PeriodKind string

// Kinds of period.
const (
	Quarter PeriodKind = "quarter"
	Year    PeriodKind = "year"
)

// Period is a fiscal quarter or year. A fiscal year is named after the
// calendar year in which it starts: with a fiscal year starting in April,
// 2027-Q1 runs from April to June 2027 and 2027-Q4 from January to March 2028.
type Period struct {
	Kind       PeriodKind
	FiscalYear int
	Quarter    int       // 1–4 for a quarter, 0 for a year
	Start      time.Time // first instant, inclusive
	End        time.Time // first instant after the period
}

// QuarterOf returns the fiscal quarter containing t, in t's location.
func QuarterOf(t time.Time, fyStart time.Month) Period {
	fy, offset := fiscalYearOf(t, fyStart)
	return quarter(fy, offset/3+1, fyStart, t.Location())
}

// YearOf returns the fiscal year containing t, in t's location.
func YearOf(t time.Time, fyStart time.Month) Period {
	fy, _ := fiscalYearOf(t, fyStart)
	start := time.Date(fy, fyStart, 1, 0, 0, 0, 0, t.Location())
	return Period{Kind: Year, FiscalYear: fy, Start: start, End: start.AddDate(1, 0, 0)}
}

// fiscalYearOf returns the fiscal year of t and the months since it started.
func fiscalYearOf(t time.Time, fyStart time.Month) (year, offset int) {
	offset = (int(t.Month()) - int(fyStart) + 12) % 12
	year = t.Year()
	if t.Month() < fyStart {
		year--
	}
	return year, offset
}

func quarter(fy, q int, fyStart time.Month, loc *time.Location) Period {
	start := time.Date(fy, fyStart+time.Month(3*(q-1)), 1, 0, 0, 0, 0, loc)
	return Period{Kind: Quarter, FiscalYear: fy, Quarter: q, Start: start, End: start.AddDate(0, 3, 0)}
}

var periodLabel = regexp.MustCompile(`^(\d{4})(?:-?Q([1-4]))?$`)

// ParsePeriod parses a label such as "2027-Q1" or "2027" (case-insensitive;
// "2027Q1" is accepted too) into a period in loc.
func ParsePeriod(label string, fyStart time.Month, loc *time.Location) (Period, error) {
	m := periodLabel.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(label)))
	if m == nil {
		return Period{}, FieldErrorf("period", "%q is not a period: write a quarter like 2027-Q1 or a year like 2027.", label)
	}
	fy, _ := strconv.Atoi(m[1])
	if fy < 2000 || fy > 2100 {
		return Period{}, FieldErrorf("period", "%s is out of range: pick a year between 2000 and 2100.", m[1])
	}
	if m[2] == "" {
		start := time.Date(fy, fyStart, 1, 0, 0, 0, 0, loc)
		return Period{Kind: Year, FiscalYear: fy, Start: start, End: start.AddDate(1, 0, 0)}, nil
	}
	q, _ := strconv.Atoi(m[2])
	return quarter(fy, q, fyStart, loc), nil
}

// Label returns the period's canonical name: "2027-Q1" or "2027".
func (p Period) Label() string {
	if p.Kind == Year {
		return strconv.Itoa(p.FiscalYear)
	}
	return fmt.Sprintf("%d-Q%d", p.FiscalYear, p.Quarter)
}

// String returns the label.
func (p Period) String() string { return p.Label() }

// Contains reports whether t falls inside the period.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

// Elapsed returns the fraction of the period that has passed at t, in [0, 1].
// It is the expected progress of every key result in the period.
func (p Period) Elapsed(t time.Time) float64 {
	total := p.End.Sub(p.Start)
	if total <= 0 || !t.After(p.Start) {
		return 0
	}
	if !t.Before(p.End) {
		return 1
	}
	return float64(t.Sub(p.Start)) / float64(total)
}

// Next returns the period of the same kind right after p.
func (p Period) Next() Period {
	if p.Kind == Year {
		start := p.End
		return Period{Kind: Year, FiscalYear: p.FiscalYear + 1, Start: start, End: start.AddDate(1, 0, 0)}
	}
	next := Period{Kind: Quarter, FiscalYear: p.FiscalYear, Quarter: p.Quarter + 1, Start: p.End, End: p.End.AddDate(0, 3, 0)}
	if p.Quarter == 4 {
		next.FiscalYear, next.Quarter = p.FiscalYear+1, 1
	}
	return next
}

// DateRange describes the period for people, e.g. "Apr 1 – Jun 30, 2027".
func (p Period) DateRange() string {
	last := p.End.AddDate(0, 0, -1)
	if p.Start.Year() == last.Year() {
		return fmt.Sprintf("%s – %s", p.Start.Format("Jan 2"), last.Format("Jan 2, 2006"))
	}
	return fmt.Sprintf("%s – %s", p.Start.Format("Jan 2, 2006"), last.Format("Jan 2, 2006"))
}
