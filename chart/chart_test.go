package chart_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/okrbot/okrbot/chart"
	"github.com/okrbot/okrbot/okr"
)

var sample = flag.String("sample", "", "write the chart of a realistic summary to this PNG file")

// quarter returns 2027-Q1 (Jan 1 – Apr 1, 2027, UTC) and its 13 weeks,
// a week apart from the quarter's start.
func quarter(t testing.TB) (okr.Period, []time.Time) {
	t.Helper()
	p, err := okr.ParsePeriod("2027-Q1", time.January, time.UTC)
	if err != nil {
		t.Fatalf("ParsePeriod got error %v, want nil", err)
	}
	weeks := make([]time.Time, 13)
	for i := range weeks {
		weeks[i] = p.Start.AddDate(0, 0, 7*i)
	}
	return p, weeks
}

// summary returns a summary of 2027-Q1 with n key results reported up to
// week reached (1–13), their progress drifting up at their own paces; the
// same n and reached give the same summary.
func summary(t testing.TB, n, reached int) *okr.Summary {
	t.Helper()
	p, weeks := quarter(t)
	s := &okr.Summary{
		Team:     okr.Team{ID: 7, Name: "Platform"},
		Period:   p,
		At:       weeks[reached-1].AddDate(0, 0, 3),
		Weeks:    weeks,
		Answered: 120, Expected: 140,
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(reached)))
	for i := range n {
		ser := okr.KRSeries{
			KeyResultID: int64(100 + i),
			Title:       fmt.Sprintf("KR %d: raise the thing number %d", i+1, i+1),
			Progress:    make([]float64, len(weeks)),
		}
		pace := 0.3 + 1.1*rng.Float64()
		v := 0.0
		for w := range weeks {
			if w >= reached {
				ser.Progress[w] = math.NaN()
				continue
			}
			v += pace * rng.Float64() * 2 / 13
			ser.Progress[w] = min(v, 1)
		}
		s.Series = append(s.Series, ser)
	}
	return s
}

// mustProgress returns the chart of s, decoded, and its size in bytes.
func mustProgress(t testing.TB, s *okr.Summary) (image.Image, int) {
	t.Helper()
	b, err := chart.Progress(s)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode got error %v, want nil", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, chart.Width, chart.Height) {
		t.Fatalf("bounds got %v, want %dx%d", got, chart.Width, chart.Height)
	}
	return img, len(b)
}

// colours counts the pixels of each colour in img.
func colours(img image.Image) map[color.RGBA]int {
	n := make(map[color.RGBA]int)
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			n[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return n
}

// checkPicture fails t unless img is mostly background, shows the pace
// line and exactly the first lines colours of the palette.
func checkPicture(t *testing.T, img image.Image, lines int) {
	t.Helper()
	n := colours(img)
	total := chart.Width * chart.Height
	if got := n[chart.Background]; got < total/2 {
		t.Errorf("background pixels got %d, want at least half of %d", got, total)
	}
	if got := n[chart.PaceColour]; got < 100 {
		t.Errorf("pace line pixels got %d, want at least 100", got)
	}
	for i, c := range chart.Palette {
		got := n[c]
		switch used := i < lines; {
		case used && got < 50:
			t.Errorf("pixels of palette colour %d (%v) got %d, want at least 50", i, c, got)
		case !used && got != 0:
			t.Errorf("pixels of palette colour %d (%v) got %d, want 0: no line has it", i, c, got)
		}
	}
}

func TestProgress(t *testing.T) {
	img, size := mustProgress(t, summary(t, 3, 13))
	checkPicture(t, img, 3)
	if size < 5<<10 || size > 1<<20 {
		t.Errorf("PNG size got %d bytes, want 5 KB to 1 MB", size)
	}
}

func TestProgressRealistic(t *testing.T) {
	s := summary(t, 20, 9)
	b, err := chart.Progress(s)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	if len(b) < 5<<10 || len(b) > 1<<20 {
		t.Errorf("PNG size got %d bytes, want 5 KB to 1 MB", len(b))
	}
	img, _ := mustProgress(t, s)
	checkPicture(t, img, len(chart.Palette))
	if *sample != "" {
		if err := os.WriteFile(*sample, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProgressDeterministic(t *testing.T) {
	s := summary(t, 20, 9)
	a, err := chart.Progress(s)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	b, err := chart.Progress(s)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two charts of the same summary differ")
	}
}

// Weeks not reached yet are left out, not drawn at 0 %: the chart is the
// same as that of the series cut before them.
func TestProgressNaN(t *testing.T) {
	withNaN := summary(t, 4, 6)
	cut := summary(t, 4, 6)
	for i := range cut.Series {
		cut.Series[i].Progress = cut.Series[i].Progress[:6]
	}
	a, err := chart.Progress(withNaN)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	b, err := chart.Progress(cut)
	if err != nil {
		t.Fatalf("Progress got error %v, want nil", err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("chart with NaN weeks differs from the chart without them")
	}
	img, _ := mustProgress(t, withNaN)
	checkPicture(t, img, 4)

	t.Run("all NaN", func(t *testing.T) {
		s := summary(t, 1, 1)
		s.Series[0].Progress = []float64{math.NaN(), math.NaN(), math.Inf(1)}
		nothing := summary(t, 1, 1)
		nothing.Series[0].Progress = nil
		a, err := chart.Progress(s)
		if err != nil {
			t.Fatalf("Progress got error %v, want nil", err)
		}
		b, err := chart.Progress(nothing)
		if err != nil {
			t.Fatalf("Progress got error %v, want nil", err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("chart of a series of NaN differs from the chart of an empty series")
		}
	})
	t.Run("gap", func(t *testing.T) {
		s := summary(t, 2, 13)
		s.Series[0].Progress[4] = math.NaN()
		img, _ := mustProgress(t, s)
		checkPicture(t, img, 2)
	})
}

func TestProgressNoSeries(t *testing.T) {
	s := summary(t, 0, 1)
	img, size := mustProgress(t, s)
	checkPicture(t, img, 0)
	if size < 5<<10 || size > 1<<20 {
		t.Errorf("PNG size got %d bytes, want 5 KB to 1 MB", size)
	}
}

func TestProgressManySeries(t *testing.T) {
	s := summary(t, 60, 8)
	img, size := mustProgress(t, s)
	checkPicture(t, img, len(chart.Palette))
	if size > 1<<20 {
		t.Errorf("PNG size got %d bytes, want at most 1 MB", size)
	}

	titles, hidden := chart.Picked(s)
	if len(titles) != chart.MaxLines || hidden != 60-chart.MaxLines {
		t.Fatalf("Picked got %d lines and %d hidden, want %d and %d", len(titles), hidden, chart.MaxLines, 60-chart.MaxLines)
	}
	// The lines drawn are the lowest at the last reached week, in the
	// summary's order.
	latest := func(title string) float64 {
		for _, ser := range s.Series {
			if ser.Title == title {
				return ser.Progress[7]
			}
		}
		t.Fatalf("Picked got title %q, not in the summary", title)
		return 0
	}
	highestDrawn := 0.0
	for _, title := range titles {
		highestDrawn = math.Max(highestDrawn, latest(title))
	}
	drawn := strings.Join(titles, "\n")
	for _, ser := range s.Series {
		if v := ser.Progress[7]; v < highestDrawn && !strings.Contains(drawn, ser.Title) {
			t.Errorf("%q at %.2f is not drawn, but one at %.2f is", ser.Title, v, highestDrawn)
		}
	}
	for i := 1; i < len(titles); i++ {
		var a, b int
		fmt.Sscanf(titles[i-1], "KR %d", &a)
		fmt.Sscanf(titles[i], "KR %d", &b)
		if a >= b {
			t.Errorf("Picked got %q before %q, want the summary's order", titles[i-1], titles[i])
		}
	}

	t.Run("no progress yet goes last", func(t *testing.T) {
		s := summary(t, 20, 3)
		for i := range 10 {
			s.Series[i].Progress = nil
		}
		titles, _ := chart.Picked(s)
		without := 0
		for _, title := range titles {
			var n int
			fmt.Sscanf(title, "KR %d", &n)
			if n <= 10 {
				without++
			}
		}
		if want := chart.MaxLines - 10; without != want {
			t.Errorf("Picked got %d key results without progress, want %d: those with progress first", without, want)
		}
	})
}

func TestProgressTitles(t *testing.T) {
	long := strings.Repeat("Reduce the p99 latency of the checkout service ", 10)
	titles := []string{
		long,
		"Réduire la latence — objectif ≥ 99,9 %",
		"Снизить задержку API до 200 мс",
		"日本語のタイトルでも描ける",
		"🚀 Launch v2 🎉",
		"خفض زمن الاستجابة",
		"tabs\tand\nnew lines\r\n",
		"",
		"\u200d\ufe0f",
	}
	s := summary(t, len(titles), 5)
	for i, title := range titles {
		s.Series[i].Title = title
	}
	s.Team.Name = "Équipe Plateforme 🛠️"
	img, _ := mustProgress(t, s)
	checkPicture(t, img, len(chart.Palette))

	got, _ := chart.Picked(s)
	for i, title := range got {
		if n := utf8.RuneCountInString(title); n > 40 {
			t.Errorf("legend title %d got %d runes, want at most 40: %q", i, n, title)
		}
		if strings.ContainsAny(title, "\t\r\n") {
			t.Errorf("legend title %d got %q, want one line", i, title)
		}
	}
	if !strings.HasSuffix(got[0], "…") {
		t.Errorf("long title got %q, want it cut with an ellipsis", got[0])
	}
	// Titles the font cannot draw at all are named by the key result's id.
	for _, i := range []int{3, 5, 7, 8} {
		if want := fmt.Sprintf("Key result %d", 100+i); got[i] != want {
			t.Errorf("legend title %d got %q, want %q", i, got[i], want)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Ship it", 40, "Ship it"},
		{"  tabs\tand\nnew   lines ", 40, "tabs and new lines"},
		{"🚀 Launch v2 🎉", 40, "Launch v2"},
		{"Снизить задержку", 40, "Снизить задержку"},
		{"日本語", 40, ""},
		{"Launch 日本 market", 40, "Launch □ market"},
		{"हिन्दी OKR", 40, "□ OKR"},
		{"🚀🎉", 40, ""},
		{"a\u200db\ufe0fc\x00d", 40, "abcd"},
		{"exactly ten", 10, "exactly t…"},
		{"ten runes!", 10, "ten runes!"},
		{"done is better than", 10, "done is b…"},
		{"done is  better", 9, "done is…"},
	}
	for _, tt := range tests {
		if got := chart.Clean(tt.in, tt.n); got != tt.want {
			t.Errorf("Clean(%q, %d) got %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// Summaries the store should never build still give a chart.
func TestProgressOddSummaries(t *testing.T) {
	p, weeks := quarter(t)
	tests := []struct {
		name string
		s    *okr.Summary
	}{
		{"nil", nil},
		{"zero", &okr.Summary{}},
		{"no weeks", &okr.Summary{Period: p, Series: []okr.KRSeries{{Title: "a", Progress: []float64{0.1, 0.2}}}}},
		{"longer than the weeks", &okr.Summary{Period: p, Weeks: weeks[:3], Series: []okr.KRSeries{{Title: "a", Progress: make([]float64, 30)}}}},
		{"out of range", &okr.Summary{Period: p, Weeks: weeks, Series: []okr.KRSeries{{Title: "a", Progress: []float64{-3, 7, math.Inf(-1), 0.5}}}}},
		{"no period", &okr.Summary{Weeks: weeks, Series: []okr.KRSeries{{Title: "a", Progress: []float64{0.1}}}}},
		{"a year", func() *okr.Summary {
			s := summary(t, 5, 13)
			s.Period = okr.YearOf(p.Start, time.January)
			for i := 13; i < 52; i++ {
				s.Weeks = append(s.Weeks, p.Start.AddDate(0, 0, 7*i))
			}
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustProgress(t, tt.s)
		})
	}
}
