package okr_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func TestExportRecord(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 1, 4, 10, 0, 30, 500, berlin) // 09:00:30 UTC
	value, big, confidence, checkin := 9.5, 1234567.25, 8, int64(42)
	tests := []struct {
		name string
		row  okr.ExportRow
		want []string
	}{
		{
			"check-in",
			okr.ExportRow{Kind: okr.ExportCheckin, Team: "Platform", UserID: "U1", At: at,
				Blockers: "Waiting on procurement.", CheckinState: okr.Answered, CheckinID: &checkin},
			[]string{"checkin", "Platform", "", "", "", "U1", "2027-01-04T09:00:30Z", "", "", "", "", "", "Waiting on procurement.", "answered", "42"},
		},
		{
			"KR update",
			okr.ExportRow{Kind: okr.ExportKRUpdate, Team: "Platform", Objective: "Make support fast",
				KeyResult: "Reduce first response time", UserID: "U1", At: at, Value: &value, Unit: "h",
				Confidence: &confidence, Status: okr.OnTrack, Comment: "Better, \"much\"\nbetter", CheckinID: &checkin},
			[]string{"kr_update", "Platform", "Make support fast", "Reduce first response time", "", "U1",
				"2027-01-04T09:00:30Z", "9.5", "h", "8", "on_track", "Better, \"much\"\nbetter", "", "", "42"},
		},
		{
			"KPI reading outside a check-in",
			okr.ExportRow{Kind: okr.ExportKPIReading, Team: "Platform", KPI: "on-time-delivery", UserID: "U2",
				At: at, Value: &big, Unit: "%", Comment: "Café 日本"},
			[]string{"kpi_reading", "Platform", "", "", "on-time-delivery", "U2", "2027-01-04T09:00:30Z",
				"1234567.25", "%", "", "", "Café 日本", "", "", ""},
		},
		{
			"formulas are not run",
			okr.ExportRow{Kind: okr.ExportKRUpdate, Team: "=1+1", Objective: "+cmd", KeyResult: "-2",
				KPI: "@SUM(A1)", At: at, Unit: "\tx", Comment: "\r=HYPERLINK(\"http://x\")", Blockers: "a=b"},
			[]string{"kr_update", "'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "", "2027-01-04T09:00:30Z", "",
				"'\tx", "", "", "'\r=HYPERLINK(\"http://x\")", "a=b", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.row.Record()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(got) != len(okr.ExportHeader()) {
				t.Errorf("got %d cells, want one per column (%d)", len(got), len(okr.ExportHeader()))
			}
		})
	}
}

func TestExportValueNegative(t *testing.T) {
	// A number is never given an apostrophe: it is ours, not text.
	v := -3.5
	got := okr.ExportRow{Kind: okr.ExportKPIReading, Value: &v}.Record()[7]
	if got != "-3.5" {
		t.Errorf("got %q, want -3.5", got)
	}
}
