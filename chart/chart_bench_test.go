package chart_test

import (
	"testing"

	"github.com/okrbot/okrbot/chart"
)

// BenchmarkProgress draws a realistic quarter: 13 weeks, 20 key results,
// 9 weeks reached. It reports the PNG's size as bytes/chart.
func BenchmarkProgress(b *testing.B) {
	s := summary(b, 20, 9)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		png, err := chart.Progress(s)
		if err != nil {
			b.Fatalf("Progress got error %v, want nil", err)
		}
		size = len(png)
	}
	b.ReportMetric(float64(size), "bytes/chart")
}
