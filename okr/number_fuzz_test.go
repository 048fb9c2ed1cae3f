package okr_test

import (
	"math"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"95", "95%", "1,200", "1 200", "1.2k", "-3.5", "$40", "3M", "", "1e9", "--1", "1,2", ".5", "−2", "€1.234,5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := okr.ParseNumber(s)
		if err != nil {
			if okr.ErrorCode(err) != okr.EINVALID || okr.ErrorMessage(err) == "" {
				t.Errorf("ParseNumber(%q): got %v, want an EINVALID error with a message", s, err)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e15 {
			t.Errorf("ParseNumber(%q) = %v, want a finite number of sane size", s, v)
		}
		// What is formatted reads back as the same number (to its 2 decimals).
		back, err := okr.ParseNumber(okr.FormatNumber(v))
		if err != nil || math.Abs(back-math.Round(v*100)/100) > 1e-9*math.Max(1, math.Abs(v)) {
			t.Errorf("ParseNumber(FormatNumber(%v)) = %v, %v", v, back, err)
		}
	})
}
