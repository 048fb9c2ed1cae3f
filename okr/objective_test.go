package okr_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestObjectiveProgress(t *testing.T) {
	metric := func(start, target, current float64) okr.KeyResult {
		return okr.KeyResult{Kind: okr.Metric, Start: start, Target: target, Current: current}
	}
	milestone := func(done bool) okr.KeyResult {
		kr := okr.KeyResult{Kind: okr.Milestone, Start: 0, Target: 1}
		if done {
			kr.Current = 1
		}
		return kr
	}
	tests := []struct {
		name string
		krs  []okr.KeyResult
		want float64
	}{
		{"no key results", nil, 0},
		{"empty slice", []okr.KeyResult{}, 0},
		{"one at half", []okr.KeyResult{metric(0, 10, 5)}, 0.5},
		{"mean of two", []okr.KeyResult{metric(0, 10, 5), metric(12, 4, 4)}, 0.75},
		{"over-achievement is clamped before the mean", []okr.KeyResult{metric(0, 100, 200), metric(0, 100, 0)}, 0.5},
		{"below start is clamped before the mean", []okr.KeyResult{metric(10, 20, 0), metric(0, 100, 50)}, 0.25},
		{"metric and milestones", []okr.KeyResult{metric(0, 10, 10), milestone(true), milestone(false)}, 2.0 / 3},
		{"decreasing KR past its target counts as 1", []okr.KeyResult{metric(12, 4, 0.5), milestone(false)}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.ObjectiveProgress(tt.krs); !approx(got, tt.want) {
				t.Errorf("ObjectiveProgress() got %v, want %v", got, tt.want)
			}
			o := okr.Objective{KeyResults: tt.krs}
			if got := o.Progress(); !approx(got, tt.want) {
				t.Errorf("Objective.Progress() got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	// Go's math.Round rounds half away from zero. 0.25, 0.35 and 0.65 are
	// not exact in binary, but progress*10 comes out as exactly 2.5, 3.5
	// and 6.5 in float64, so they round up to 0.3, 0.4 and 0.7.
	tests := []struct {
		progress float64
		want     float64
	}{
		{-0.5, 0},
		{0, 0},
		{math.Copysign(0, -1), 0}, // a decreasing KR not moved: 0/-240
		{0.04, 0},
		{0.05, 0.1},
		{0.25, 0.3},
		{0.3, 0.3},
		{0.349, 0.3},
		{0.35, 0.4},
		{0.449, 0.4},
		{0.64, 0.6},
		{0.649, 0.6},
		{0.65, 0.7},
		{0.94, 0.9},
		{0.949, 0.9},
		{0.96, 1},
		{1, 1},
		{1.2, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.progress), func(t *testing.T) {
			if got := okr.Score(tt.progress); got != tt.want || math.Signbit(got) {
				t.Errorf("Score(%v) got %v, want %v", tt.progress, got, tt.want)
			}
		})
	}
}

func TestScoreColour(t *testing.T) {
	tests := []struct {
		score float64
		want  okr.Colour
	}{
		{0, okr.Red},
		{0.1, okr.Red},
		{0.3, okr.Red},
		{0.349, okr.Red}, // rounds to 0.3
		{0.35, okr.Yellow},
		{0.4, okr.Yellow},
		{0.5, okr.Yellow},
		{0.6, okr.Yellow},
		{0.649, okr.Yellow}, // rounds to 0.6
		{0.65, okr.Green},   // rounds to 0.7
		{0.7, okr.Green},
		{1, okr.Green},
		{1.3, okr.Green},
		{-0.1, okr.Red},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.score), func(t *testing.T) {
			if got := okr.ScoreColour(tt.score); got != tt.want {
				t.Errorf("ScoreColour(%v) got %q, want %q", tt.score, got, tt.want)
			}
		})
	}
}

func TestAchieved(t *testing.T) {
	tests := []struct {
		name  string
		kind  okr.ObjectiveKind
		score float64
		want  bool
	}{
		{"committed at 1.0 is met", okr.Committed, 1, true},
		{"committed over-achieved is met", okr.Committed, 1.2, true},
		{"committed at 0.96 rounds to 1.0 and is met", okr.Committed, 0.96, true},
		{"committed at 0.94 rounds to 0.9 and is not met", okr.Committed, 0.94, false},
		{"committed at 0.9 is not met", okr.Committed, 0.9, false},
		{"committed at 0.7 is not met", okr.Committed, 0.7, false},
		{"committed at 0 is not met", okr.Committed, 0, false},
		{"aspirational at 0.7 is a success", okr.Aspirational, 0.7, true},
		{"aspirational at 0.65 rounds to 0.7 and is a success", okr.Aspirational, 0.65, true},
		{"aspirational at 0.649 rounds to 0.6 and is not", okr.Aspirational, 0.649, false},
		{"aspirational at 0.6 is not a success", okr.Aspirational, 0.6, false},
		{"aspirational at 1.0 is a success", okr.Aspirational, 1, true},
		{"aspirational at 0 is not a success", okr.Aspirational, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := okr.Achieved(tt.kind, tt.score); got != tt.want {
				t.Errorf("Achieved(%q, %v) got %v, want %v", tt.kind, tt.score, got, tt.want)
			}
		})
	}
}

func TestObjective_Validate(t *testing.T) {
	valid := func() okr.Objective {
		return okr.Objective{TeamID: 1, Title: "Delight support customers", OwnerID: "U1", Period: "2027-Q1", Kind: okr.Committed}
	}
	tests := []struct {
		name      string
		edit      func(o *okr.Objective)
		wantField string
		wantIn    string
	}{
		{"valid committed", func(o *okr.Objective) {}, "", ""},
		{"valid aspirational", func(o *okr.Objective) { o.Kind = okr.Aspirational }, "", ""},
		{"empty title", func(o *okr.Objective) { o.Title = "" }, "title", ""},
		{"whitespace title", func(o *okr.Objective) { o.Title = "  \t " }, "title", ""},
		{"title of 150 multi-byte runes", func(o *okr.Objective) { o.Title = strings.Repeat("日", 150) }, "", ""},
		{"title of 151 multi-byte runes", func(o *okr.Objective) { o.Title = strings.Repeat("日", 151) }, "title", "151"},
		{"title of 150 runes plus spaces around", func(o *okr.Objective) { o.Title = "  " + strings.Repeat("a", 150) + "  " }, "", ""},
		{"description at the limit", func(o *okr.Objective) { o.Description = strings.Repeat("ü", okr.MaxDescriptionLen) }, "", ""},
		{"description too long", func(o *okr.Objective) { o.Description = strings.Repeat("ü", okr.MaxDescriptionLen+1) }, "description", ""},
		{"missing owner", func(o *okr.Objective) { o.OwnerID = "" }, "owner", ""},
		{"bad kind", func(o *okr.Objective) { o.Kind = "stretch" }, "kind", ""},
		{"empty kind", func(o *okr.Objective) { o.Kind = "" }, "kind", ""},
		{"missing team", func(o *okr.Objective) { o.TeamID = 0 }, "team", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.edit(&o)
			checkFieldError(t, o.Validate(), tt.wantField, tt.wantIn)
		})
	}
}

func TestObjective_ValidateTrims(t *testing.T) {
	o := okr.Objective{TeamID: 1, Title: "  Delight customers\n", Description: "\tWhy it matters  ", OwnerID: "U1", Kind: okr.Aspirational}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate() got error %v, want nil", err)
	}
	if got, want := o.Title, "Delight customers"; got != want {
		t.Errorf("Title got %q, want %q", got, want)
	}
	if got, want := o.Description, "Why it matters"; got != want {
		t.Errorf("Description got %q, want %q", got, want)
	}
}
