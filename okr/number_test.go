package okr_test

import (
	"math"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"95", 95},
		{"95%", 95},
		{"95 %", 95},
		{"1,200", 1200},
		{"1 200", 1200},
		{"1,234,567.89", 1234567.89},
		{"1.2k", 1200},
		{"1.2K", 1200},
		{"-3.5", -3.5},
		{"+4", 4},
		{"−7", -7}, // U+2212 minus sign
		{"$40", 40},
		{"-$1,200", -1200},
		{"€12.5", 12.5},
		{"3M", 3e6},
		{"2b", 2e9},
		{"0.5", 0.5},
		{".5", 0.5},
		{"0", 0},
		{"  42  ", 42},
		{"007", 7},
		{"1000", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := okr.ParseNumber(tt.in)
			if err != nil {
				t.Fatalf("ParseNumber(%q) got error %v, want %v", tt.in, err, tt.want)
			}
			if math.Abs(got-tt.want) > 1e-9*math.Max(1, math.Abs(tt.want)) {
				t.Errorf("ParseNumber(%q) got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNumber_Rejects(t *testing.T) {
	for _, in := range []string{
		"", "   ", "abc", "1,2", "12,34,567", "1234,567", ",200", "1,", "1,200.5,5", "1 2",
		"1e9", "1E3", "0x10", "1_000", "NaN", "Inf", "-Inf", "infinity",
		"1..2", "1.2.3", "k", "%", "$", "-", "--1", "++1", "+-1", "-+1", "-−1", "$-5",
		"1.2kk", "5 apples", "2000000000b",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := okr.ParseNumber(in)
			if err == nil {
				t.Fatalf("ParseNumber(%q) got %v, want an error", in, got)
			}
			if code := okr.ErrorCode(err); code != okr.EINVALID {
				t.Errorf("ErrorCode got %q, want %q", code, okr.EINVALID)
			}
			if okr.ErrorMessage(err) == "" {
				t.Errorf("ErrorMessage got empty, want a message")
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{7, "7"},
		{100, "100"},
		{999, "999"},
		{1000, "1,000"},
		{1200, "1,200"},
		{4.5, "4.5"},
		{-0.25, "-0.25"},
		{-1234.5, "-1,234.5"},
		{1234567.89, "1,234,567.89"},
		{12.345678, "12.35"},
		{1.006, "1.01"},
		{1.004, "1"},
		{2.999, "3"},
		{999.999, "1,000"},
		{-0.001, "0"},
		{1e15, "1,000,000,000,000,000"},
		{math.NaN(), "–"},
		{math.Inf(1), "–"},
		{math.Inf(-1), "–"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := okr.FormatNumber(tt.in); got != tt.want {
				t.Errorf("FormatNumber(%v) got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{95, "%", "95%"},
		{99.5, "%", "99.5%"},
		{1200, "$", "$1,200"},
		{-40, "$", "-$40"},
		{-1234.5, "€", "-€1,234.5"},
		{0, "$", "$0"},
		{4, "h", "4 h"},
		{0.5, "h", "0.5 h"},
		{12, "tickets", "12 tickets"},
		{4.5, "", "4.5"},
		{-3, "", "-3"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := okr.FormatValue(tt.v, tt.unit); got != tt.want {
				t.Errorf("FormatValue(%v, %q) got %q, want %q", tt.v, tt.unit, got, tt.want)
			}
		})
	}
}

func TestFormatValue_ParsesBack(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
	}{
		{95, "%"},
		{-40, "$"},
		{1234567.89, "$"},
		{-0.25, ""},
		{1200, ""},
	}
	for _, tt := range tests {
		s := okr.FormatValue(tt.v, tt.unit)
		t.Run(s, func(t *testing.T) {
			got, err := okr.ParseNumber(s)
			if err != nil {
				t.Fatalf("ParseNumber(%q) got error %v, want %v", s, err, tt.v)
			}
			if got != tt.v {
				t.Errorf("ParseNumber(%q) got %v, want %v", s, got, tt.v)
			}
		})
	}
}

func TestFormatPercent(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0%"},
		{0.456, "46%"},
		{0.5, "50%"},
		{1.0 / 3, "33%"},
		{0.004, "0%"},
		{1, "100%"},
		{1.2, "120%"},
		{-0.25, "-25%"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := okr.FormatPercent(tt.in); got != tt.want {
				t.Errorf("FormatPercent(%v) got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
