package okr_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestKeyResult_Progress(t *testing.T) {
	tests := []struct {
		name          string
		kr            okr.KeyResult
		wantRaw       float64
		wantProgress  float64
		wantDecreases bool
	}{
		{"increasing at start", okr.KeyResult{Kind: okr.Metric, Start: 0, Target: 100, Current: 0}, 0, 0, false},
		{"increasing halfway", okr.KeyResult{Kind: okr.Metric, Start: 0, Target: 100, Current: 50}, 0.5, 0.5, false},
		{"increasing with offset start", okr.KeyResult{Kind: okr.Metric, Start: 80, Target: 90, Current: 85}, 0.5, 0.5, false},
		{"increasing at target", okr.KeyResult{Kind: okr.Metric, Start: 0, Target: 100, Current: 100}, 1, 1, false},
		{"over-achieved clamped to 1", okr.KeyResult{Kind: okr.Metric, Start: 0, Target: 100, Current: 120}, 1.2, 1, false},
		{"below start clamped to 0", okr.KeyResult{Kind: okr.Metric, Start: 10, Target: 20, Current: 5}, -0.5, 0, false},
		{"decreasing at start", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 12}, 0, 0, true},
		{"decreasing halfway", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 8}, 0.5, 0.5, true},
		{"decreasing at target", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 4}, 1, 1, true},
		{"decreasing past target clamped to 1", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 0.5}, 1.4375, 1, true},
		{"decreasing worse than start clamped to 0", okr.KeyResult{Kind: okr.Metric, Start: 12, Target: 4, Current: 14}, -0.25, 0, true},
		{"negative numbers", okr.KeyResult{Kind: okr.Metric, Start: -10, Target: 10, Current: 0}, 0.5, 0.5, false},
		{"target equals start", okr.KeyResult{Kind: okr.Metric, Start: 5, Target: 5, Current: 7}, 0, 0, false},
		{"milestone not done", okr.KeyResult{Kind: okr.Milestone, Start: 0, Target: 1, Current: 0}, 0, 0, false},
		{"milestone done", okr.KeyResult{Kind: okr.Milestone, Start: 0, Target: 1, Current: 1}, 1, 1, false},
		{"milestone half is not done", okr.KeyResult{Kind: okr.Milestone, Start: 0, Target: 1, Current: 0.5}, 0, 0, false},
		{"milestone never decreases", okr.KeyResult{Kind: okr.Milestone, Start: 1, Target: 0, Current: 0}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kr.RawProgress(); !approx(got, tt.wantRaw) {
				t.Errorf("RawProgress() got %v, want %v", got, tt.wantRaw)
			}
			if got := tt.kr.Progress(); !approx(got, tt.wantProgress) {
				t.Errorf("Progress() got %v, want %v", got, tt.wantProgress)
			}
			if got := tt.kr.Decreasing(); got != tt.wantDecreases {
				t.Errorf("Decreasing() got %v, want %v", got, tt.wantDecreases)
			}
		})
	}
}

func TestBehindPace(t *testing.T) {
	third := 1.0 / 3
	tests := []struct {
		name     string
		progress float64
		elapsed  float64
		want     bool
	}{
		{"start of period", 0, 0, false},
		{"just under a third elapsed, no progress", 0, 0.33, false},
		{"exactly a third elapsed, no progress", 0, third, true},
		{"exactly a third elapsed, progress at the grace line", third - 0.25, third, false},
		{"exactly a third elapsed, progress above the grace line", 0.1, third, false},
		{"half elapsed, progress exactly elapsed-0.25", 0.25, 0.5, false},
		{"half elapsed, progress just below elapsed-0.25", 0.2499, 0.5, true},
		{"half elapsed, on pace", 0.5, 0.5, false},
		{"end of period, progress 0.75", 0.75, 1, false},
		{"end of period, progress 0.74", 0.74, 1, true},
		{"ahead of pace", 1, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.BehindPace(tt.progress, tt.elapsed); got != tt.want {
				t.Errorf("BehindPace(%v, %v) got %v, want %v", tt.progress, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestConfidenceStatus(t *testing.T) {
	tests := []struct {
		confidence int
		want       okr.Status
	}{
		{-5, okr.NoStatus},
		{-1, okr.NoStatus},
		{0, okr.NoStatus},
		{1, okr.OffTrack},
		{2, okr.OffTrack},
		{3, okr.OffTrack},
		{4, okr.AtRisk},
		{5, okr.AtRisk},
		{6, okr.AtRisk},
		{7, okr.OnTrack},
		{8, okr.OnTrack},
		{9, okr.OnTrack},
		{10, okr.OnTrack},
		{11, okr.NoStatus},
		{100, okr.NoStatus},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.confidence), func(t *testing.T) {
			if got := okr.ConfidenceStatus(tt.confidence); got != tt.want {
				t.Errorf("ConfidenceStatus(%d) got %q, want %q", tt.confidence, got, tt.want)
			}
		})
	}
}

func TestStatus_Label(t *testing.T) {
	tests := []struct {
		status okr.Status
		want   string
	}{
		{okr.OnTrack, "on track"},
		{okr.AtRisk, "at risk"},
		{okr.OffTrack, "off track"},
		{okr.NoStatus, "no check-in yet"},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			if got := tt.status.Label(); got != tt.want {
				t.Errorf("Label() got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfidenceDropped(t *testing.T) {
	tests := []struct {
		name              string
		previous, current int
		want              bool
	}{
		{"drop of 3", 8, 5, true},
		{"drop of 2", 8, 6, false},
		{"drop of 9", 10, 1, true},
		{"no change", 7, 7, false},
		{"rise of 3", 4, 7, false},
		{"no previous value", 0, 1, false},
		{"no current value", 8, 0, false},
		{"drop of 3 to the bottom", 4, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.ConfidenceDropped(tt.previous, tt.current); got != tt.want {
				t.Errorf("ConfidenceDropped(%d, %d) got %v, want %v", tt.previous, tt.current, got, tt.want)
			}
		})
	}
}

func TestKeyResult_Validate(t *testing.T) {
	valid := func() okr.KeyResult {
		return okr.KeyResult{Title: "Reduce first response time", OwnerID: "U1", Kind: okr.Metric, Unit: "h", Start: 12, Target: 4, Current: 12}
	}
	tests := []struct {
		name      string
		edit      func(kr *okr.KeyResult)
		wantField string // "" for no error
		wantIn    string // part of the message
	}{
		{"valid metric", func(kr *okr.KeyResult) {}, "", ""},
		{"valid milestone", func(kr *okr.KeyResult) { kr.Kind = okr.Milestone }, "", ""},
		{"empty title", func(kr *okr.KeyResult) { kr.Title = "" }, "title", ""},
		{"whitespace title", func(kr *okr.KeyResult) { kr.Title = " \t\n " }, "title", ""},
		{"title of 150 multi-byte runes", func(kr *okr.KeyResult) { kr.Title = strings.Repeat("é", 150) }, "", ""},
		{"title of 151 runes", func(kr *okr.KeyResult) { kr.Title = strings.Repeat("é", 151) }, "title", "151"},
		{"unit too long", func(kr *okr.KeyResult) { kr.Unit = strings.Repeat("u", okr.MaxUnitLen+1) }, "unit", ""},
		{"missing owner", func(kr *okr.KeyResult) { kr.OwnerID = "" }, "owner", ""},
		{"bad kind", func(kr *okr.KeyResult) { kr.Kind = "binary" }, "kind", ""},
		{"empty kind", func(kr *okr.KeyResult) { kr.Kind = "" }, "kind", ""},
		{"target equals start", func(kr *okr.KeyResult) { kr.Start, kr.Target = 1200, 1200 }, "target", "1,200"},
		{"NaN start", func(kr *okr.KeyResult) { kr.Start = math.NaN() }, "target", ""},
		{"NaN target", func(kr *okr.KeyResult) { kr.Target = math.NaN() }, "target", ""},
		{"NaN current", func(kr *okr.KeyResult) { kr.Current = math.NaN() }, "target", ""},
		{"infinite target", func(kr *okr.KeyResult) { kr.Target = math.Inf(1) }, "target", ""},
		{"confidence 0 (none yet)", func(kr *okr.KeyResult) { kr.Confidence = 0 }, "", ""},
		{"confidence 10", func(kr *okr.KeyResult) { kr.Confidence = 10 }, "", ""},
		{"confidence 11", func(kr *okr.KeyResult) { kr.Confidence = 11 }, "confidence", ""},
		{"confidence -1", func(kr *okr.KeyResult) { kr.Confidence = -1 }, "confidence", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := valid()
			tt.edit(&kr)
			err := kr.Validate()
			checkFieldError(t, err, tt.wantField, tt.wantIn)
		})
	}
}

func TestKeyResult_ValidateTrimsAndNormalises(t *testing.T) {
	tests := []struct {
		name string
		in   okr.KeyResult
		want okr.KeyResult
	}{
		{
			"metric text trimmed, numbers kept",
			okr.KeyResult{Title: "  Ship it \n", OwnerID: "U1", Kind: okr.Metric, Unit: " h ", Start: 12, Target: 4, Current: 8},
			okr.KeyResult{Title: "Ship it", OwnerID: "U1", Kind: okr.Metric, Unit: "h", Start: 12, Target: 4, Current: 8},
		},
		{
			"milestone not done",
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Unit: "x", Start: 5, Target: 5, Current: 0.7},
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Unit: "", Start: 0, Target: 1, Current: 0},
		},
		{
			"milestone done",
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Start: 3, Target: 9, Current: 1},
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Start: 0, Target: 1, Current: 1},
		},
		{
			"milestone with NaN current",
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Current: math.NaN()},
			okr.KeyResult{Title: "Launch", OwnerID: "U1", Kind: okr.Milestone, Start: 0, Target: 1, Current: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate() got error %v, want nil", err)
			}
			if got.Title != tt.want.Title || got.Unit != tt.want.Unit || got.Start != tt.want.Start || got.Target != tt.want.Target || got.Current != tt.want.Current {
				t.Errorf("after Validate() got title=%q unit=%q start=%v target=%v current=%v, want title=%q unit=%q start=%v target=%v current=%v",
					got.Title, got.Unit, got.Start, got.Target, got.Current,
					tt.want.Title, tt.want.Unit, tt.want.Start, tt.want.Target, tt.want.Current)
			}
		})
	}
}

// approx reports whether two progress figures agree to well within display precision.
func approx(a, b float64) bool {
	return math.Abs(a-b) < 1e-9
}

// checkFieldError fails t unless err is nil when wantField is "", or an
// EINVALID *okr.Error about wantField whose message contains wantIn.
func checkFieldError(t *testing.T, err error, wantField, wantIn string) {
	t.Helper()
	if wantField == "" {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got nil error, want an EINVALID error about %q", wantField)
	}
	if got := okr.ErrorCode(err); got != okr.EINVALID {
		t.Errorf("ErrorCode got %q, want %q", got, okr.EINVALID)
	}
	e, ok := err.(*okr.Error)
	if !ok {
		t.Fatalf("got error of type %T, want *okr.Error", err)
	}
	if e.Field != wantField {
		t.Errorf("Field got %q, want %q (message %q)", e.Field, wantField, e.Message)
	}
	if e.Message == "" {
		t.Errorf("Message got empty, want a user-safe message")
	}
	if !strings.Contains(e.Message, wantIn) {
		t.Errorf("Message got %q, want it to contain %q", e.Message, wantIn)
	}
}
