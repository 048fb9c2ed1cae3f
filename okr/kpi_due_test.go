package okr_test

import (
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func TestKPIDue(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Monday, February 1, 2027, 10:00 in Berlin.
	now := time.Date(2027, 2, 1, 10, 0, 0, 0, berlin)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	at := func(tm time.Time) *time.Time { return &tm }
	day := 24 * time.Hour
	tests := []struct {
		name    string
		cadence okr.Cadence
		last    *time.Time
		want    bool
	}{
		{"daily never read", okr.Daily, nil, true},
		{"daily read an hour ago", okr.Daily, ago(time.Hour), false},
		{"daily read just under a day ago", okr.Daily, ago(day - time.Minute), false},
		{"daily read exactly a day ago", okr.Daily, ago(day), true},
		{"daily read a week ago", okr.Daily, ago(7 * day), true},
		{"weekly never read", okr.Weekly, nil, true},
		{"weekly read yesterday", okr.Weekly, ago(day), false},
		{"weekly read just under 6 days ago", okr.Weekly, ago(6*day - time.Minute), false},
		{"weekly read 6 days ago", okr.Weekly, ago(6 * day), true},
		{"weekly read at last week's check-in", okr.Weekly, ago(7 * day), true},
		{"monthly never read", okr.Monthly, nil, true},
		{"monthly read earlier this month", okr.Monthly, at(time.Date(2027, 2, 1, 0, 30, 0, 0, berlin)), false},
		{"monthly read last month", okr.Monthly, at(time.Date(2027, 1, 31, 23, 0, 0, 0, berlin)), true},
		// 23:30 UTC on January 31 is already February 1 in Berlin.
		{"monthly read this month in now's zone", okr.Monthly, at(time.Date(2027, 1, 31, 23, 30, 0, 0, time.UTC)), false},
		{"monthly read same month a year ago", okr.Monthly, at(time.Date(2026, 2, 10, 9, 0, 0, 0, berlin)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.KPIDue(tt.cadence, tt.last, now); got != tt.want {
				t.Errorf("KPIDue(%s, %v, %v): got %v, want %v", tt.cadence, tt.last, now, got, tt.want)
			}
		})
	}
}
