package chart

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/okrbot/okrbot/okr"
)

// Size of the chart: 16:9, the shape Slack previews best, at the 96 dots
// per inch gonum's raster canvas assumes.
const (
	Width  = 1200 // pixels
	Height = 675  // pixels
	dpi    = 96
)

// MaxLines is how many key results Progress draws at most; the others are
// counted in a note. Beyond a dozen lines the colours and shapes stop being
// told apart.
const MaxLines = 12

// Where a key result's title is cut in the legend: after 40 runes, or
// sooner if it is wider than maxTitleWidth (WWWW…), so that the legend
// leaves the plot most of the width.
const (
	maxTitleRunes = 40
	maxTitleWidth = 240 // points
)

// Colours: an opaque light card with dark text, legible on Slack's light
// and dark themes alike, and the Okabe–Ito palette, which stays distinct for
// the common kinds of colour blindness. Its yellow is left out: it cannot be
// seen on a light background.
var (
	background = color.RGBA{R: 0xfa, G: 0xfa, B: 0xfa, A: 0xff}
	ink        = color.RGBA{R: 0x1f, G: 0x23, B: 0x28, A: 0xff}
	muted      = color.RGBA{R: 0x59, G: 0x63, B: 0x6e, A: 0xff}
	gridColour = color.RGBA{R: 0xdd, G: 0xe1, B: 0xe5, A: 0xff}
	paceColour = color.RGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xff} // Okabe–Ito black

	// palette holds the colours of the key results' lines, in the order
	// they are used.
	palette = []color.RGBA{
		{R: 0x00, G: 0x72, B: 0xb2, A: 0xff}, // blue
		{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}, // vermillion
		{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}, // bluish green
		{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff}, // reddish purple
		{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}, // orange
		{R: 0x56, G: 0xb4, B: 0xe9, A: 0xff}, // sky blue
	}

	// shapes mark the points of a line; after the palette's six colours
	// the shape changes, so no two of the MaxLines lines look alike.
	shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.PyramidGlyph{}}
)

// Fonts: Liberation Sans, which gonum embeds, so nothing is read from the
// machine.
var (
	sans       = font.Font{Typeface: "Liberation", Variant: "Sans"}
	bold       = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
	legendText = text.Style{Color: ink, Font: font.From(sans, 11), Handler: plot.DefaultTextHandler}
	tickLabel  = text.Style{Color: ink, Font: font.From(sans, 10), Handler: plot.DefaultTextHandler}
)

// Progress draws s's key results' progress at the end of each week of the
// period (s.Series over s.Weeks), 0–100 %, against the expected pace: a
// dashed line from 0 % at the period's start to 100 % at its end. It returns
// a Width×Height PNG.
//
// Weeks not reached yet (NaN) are not drawn. When there are more than
// MaxLines key results, the MaxLines with the lowest latest progress are
// drawn and a note counts the others. A summary with no series gives a chart
// with the pace line and a note. The same summary always gives the same
// bytes.
func Progress(s *okr.Summary) (b []byte, err error) {
	// gonum panics on what it cannot draw; nothing here should reach one,
	// but a chart is not worth crashing the bot for.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("chart: progress: %v", r)
		}
	}()
	if s == nil {
		s = &okr.Summary{}
	}

	tl := newTimeline(s)
	lines, hidden := pick(s.Series, tl)

	img := vgimg.NewWith(
		vgimg.UseWH(pixels(Width), pixels(Height)),
		vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(background),
	)
	c := draw.Crop(draw.New(img), 18, -18, 12, -14)

	// The header spans the whole width; below it the plot, and the legend
	// on the right, as wide as its longest entry.
	title := clean(s.Team.Name, 60)
	if title == "" {
		title = "Team"
	}
	titleStyle := textStyle(bold, 18, ink)
	title = fit(title, titleStyle, c.Size().X/2)
	subtitle := "Key results' progress at the end of each week, against the expected pace"
	if s.Period.End.After(s.Period.Start) {
		title += " · " + s.Period.Label()
		subtitle = s.Period.DateRange() + ": key results' progress at the end of each week, against the expected pace"
	}
	c.FillText(titleStyle, vg.Point{X: c.Min.X, Y: c.Max.Y}, title)
	c.FillText(textStyle(sans, 12, muted), vg.Point{X: c.Min.X, Y: c.Max.Y - 25}, subtitle)
	body := draw.Crop(c, 0, 0, 0, -50)

	lg := newLegend(lines, hidden)
	plotArea := draw.Crop(body, 0, -lg.width()-16, 0, 0)
	p := newPlot(tl, lines, plotArea.Size().X)
	p.Draw(plotArea)
	if len(lines) == 0 {
		dc := p.DataCanvas(plotArea)
		sty := textStyle(sans, 14, muted)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
		// Above the pace line, which runs corner to corner.
		dc.FillText(sty, vg.Point{X: dc.X(0.3), Y: dc.Y(0.75)}, "No key results to chart yet")
	}
	lg.draw(draw.Crop(body, body.Max.X-body.Min.X-lg.width(), 0, 0, 0))

	var buf bytes.Buffer
	// Every pixel is opaque, so the encoder writes RGB without alpha.
	if err := png.Encode(&buf, img.Image()); err != nil {
		return nil, fmt.Errorf("chart: progress: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// pixels converts pixels at dpi to a length.
func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// timeline places the weeks of a period on the x axis, in days since the
// period's start.
type timeline struct {
	start, end time.Time
	// ends are the ends of the weeks: where each week's point is drawn.
	ends []time.Time
}

// newTimeline lays out s's period and weeks. A period without a length (a
// zero Summary) is taken to be the 13 weeks from its first week.
func newTimeline(s *okr.Summary) timeline {
	tl := timeline{start: s.Period.Start, end: s.Period.End}
	if !tl.end.After(tl.start) {
		if len(s.Weeks) > 0 {
			tl.start = s.Weeks[0]
		}
		tl.end = tl.start.AddDate(0, 0, 7*max(13, len(s.Weeks)))
	}
	n := len(s.Weeks)
	for _, ser := range s.Series {
		n = max(n, len(ser.Progress))
	}
	// A week ends where the next one starts, the last at the period's end;
	// weeks the summary does not list (it should) follow a week apart.
	tl.ends = make([]time.Time, n)
	for i := range n {
		var end time.Time
		switch {
		case i+1 < len(s.Weeks):
			end = s.Weeks[i+1]
		case i < len(s.Weeks):
			end = s.Weeks[i].AddDate(0, 0, 7)
		case i > 0:
			end = tl.ends[i-1].AddDate(0, 0, 7)
		default:
			end = tl.start.AddDate(0, 0, 7)
		}
		if i+1 == len(s.Weeks) || end.After(tl.end) {
			end = tl.end
		}
		if end.Before(tl.start) {
			end = tl.start
		}
		tl.ends[i] = end
	}
	return tl
}

// x is t's position on the x axis: days since the start.
func (tl timeline) x(t time.Time) float64 { return t.Sub(tl.start).Hours() / 24 }

// length is the period's length in days.
func (tl timeline) length() float64 { return tl.x(tl.end) }

// ticks mark the week ends and label them "W1" over the week's last day,
// "Jan 7": every week when the labels fit in width points, fewer
// otherwise, the last week always.
func (tl timeline) ticks(width vg.Length) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(tl.ends)+1)
	labels := make([]string, len(tl.ends))
	var widest vg.Length
	for i, end := range tl.ends {
		labels[i] = "W" + strconv.Itoa(i+1) + "\n" + end.Add(-time.Nanosecond).Format("Jan 2")
		widest = max(widest, tickLabel.Width(labels[i]))
	}
	perDay := float64(width) / max(tl.length(), 1)
	last := math.Inf(1)
	for i := len(tl.ends) - 1; i >= 0; i-- {
		x := tl.x(tl.ends[i])
		ticks[i+1] = plot.Tick{Value: x}
		if (last-x)*perDay >= float64(widest)+6 {
			ticks[i+1].Label = labels[i]
			last = x
		}
	}
	return ticks // ticks[0] marks the start, unlabelled
}

// line is a key result as drawn: its title for the legend and its points.
type line struct {
	title string
	// segments are runs of reached weeks; there is a gap where a week in
	// the middle has no value, which should not happen.
	segments []plotter.XYs
	points   plotter.XYs
	latest   float64 // the last reached week's progress, -1 when none
}

// pick turns the series into lines: all of them, in order, when there are
// at most MaxLines, else the MaxLines with the lowest latest progress (key
// results with no progress yet last), in order, and how many were left out.
func pick(series []okr.KRSeries, tl timeline) (lines []line, hidden int) {
	lines = make([]line, len(series))
	for i, ser := range series {
		l := line{title: clean(ser.Title, maxTitleRunes), latest: -1}
		if l.title == "" {
			l.title = "Key result " + strconv.FormatInt(ser.KeyResultID, 10)
		}
		l.title = fit(l.title, legendText, maxTitleWidth)
		var seg plotter.XYs
		for w, v := range ser.Progress {
			if math.IsNaN(v) || math.IsInf(v, 0) || w >= len(tl.ends) {
				if len(seg) > 0 {
					l.segments = append(l.segments, seg)
				}
				seg = nil
				continue
			}
			v = min(max(v, 0), 1)
			pt := plotter.XY{X: tl.x(tl.ends[w]), Y: 100 * v}
			seg = append(seg, pt)
			l.points = append(l.points, pt)
			l.latest = v
		}
		if len(seg) > 0 {
			l.segments = append(l.segments, seg)
		}
		lines[i] = l
	}
	if len(lines) <= MaxLines {
		return lines, 0
	}
	order := make([]int, len(lines))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		la, lb := lines[a].latest, lines[b].latest
		if (la < 0) != (lb < 0) {
			return cmp.Compare(lb, la) // no progress yet goes last
		}
		return cmp.Compare(la, lb)
	})
	order = order[:MaxLines]
	slices.Sort(order)
	picked := make([]line, len(order))
	for i, o := range order {
		picked[i] = lines[o]
	}
	return picked, len(lines) - MaxLines
}

// style returns the look of the i-th line drawn.
func style(i int) (draw.LineStyle, draw.GlyphStyle) {
	c := palette[i%len(palette)]
	return draw.LineStyle{Color: c, Width: vg.Points(2.5)},
		draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: shapes[(i/len(palette))%len(shapes)]}
}

var paceStyle = draw.LineStyle{
	Color:  paceColour,
	Width:  vg.Points(2),
	Dashes: []vg.Length{vg.Points(7), vg.Points(5)},
}

// newPlot makes the plot: axes, grid, pace line and the lines.
func newPlot(tl timeline, lines []line, width vg.Length) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = background
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color, a.Tick.Color = muted, muted
		a.Tick.Label.Font, a.Tick.Label.Color = tickLabel.Font, tickLabel.Color
		a.Label.TextStyle.Font, a.Label.TextStyle.Color = font.From(sans, 12), ink
		a.Padding = vg.Points(4)
	}
	// The data area is the plot's width less the y axis's ticks.
	p.X.Tick.Marker = tl.ticks(width - 50)
	p.Y.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0 %"}, {Value: 25, Label: "25 %"}, {Value: 50, Label: "50 %"},
		{Value: 75, Label: "75 %"}, {Value: 100, Label: "100 %"},
	}

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal = draw.LineStyle{Color: gridColour, Width: vg.Points(1)}
	p.Add(grid)

	pace := &plotter.Line{XYs: plotter.XYs{{X: 0, Y: 0}, {X: tl.length(), Y: 100}}, LineStyle: paceStyle}
	p.Add(pace)
	for i, l := range lines {
		ls, gs := style(i)
		for _, seg := range l.segments {
			p.Add(&plotter.Line{XYs: seg, LineStyle: ls})
		}
		if len(l.points) > 0 {
			p.Add(&plotter.Scatter{XYs: l.points, GlyphStyle: gs})
		}
	}

	// Fixed ranges: the whole period, 0–100 %, whatever was reached.
	p.X.Min, p.X.Max = 0, tl.length()
	p.Y.Min, p.Y.Max = 0, 100
	return p
}

// legend lists the pace line and the lines, top down, with a note for
// the ones left out.
type legend struct {
	plot.Legend
	note string
}

// newLegend makes the legend of lines, hidden more being left out.
func newLegend(lines []line, hidden int) legend {
	lg := legend{Legend: plot.NewLegend()}
	lg.TextStyle = legendText
	lg.Top, lg.Left = true, true
	lg.ThumbnailWidth = vg.Points(28)
	lg.Padding = vg.Points(5)
	lg.YPosition = draw.PosCenter
	lg.Add("Expected pace", &plotter.Line{LineStyle: paceStyle})
	for i, l := range lines {
		ls, gs := style(i)
		lg.Add(l.title, &plotter.Line{LineStyle: ls}, &plotter.Scatter{GlyphStyle: gs})
	}
	if hidden > 0 {
		lg.note = fmt.Sprintf("%d more key results are not drawn:\nthese are the %d with the least progress.", hidden, len(lines))
	}
	return lg
}

// width is how wide the legend is drawn.
func (lg *legend) width() vg.Length {
	w := lg.Rectangle(draw.Canvas{}).Size().X
	return max(w, textStyle(sans, 11, muted).Width(lg.note))
}

// draw draws the legend in the top left corner of c.
func (lg *legend) draw(c draw.Canvas) {
	lg.Draw(c)
	if lg.note != "" {
		r := lg.Rectangle(c)
		c.FillText(textStyle(sans, 11, muted), vg.Point{X: c.Min.X, Y: r.Min.Y - 12}, lg.note)
	}
}

// textStyle is the style of text placed by its top left corner.
func textStyle(f font.Font, size vg.Length, clr color.Color) text.Style {
	return text.Style{
		Color:   clr,
		Font:    font.From(f, size),
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
}

// clean makes s fit on one line of the chart: white space (new lines
// included) collapsed, cut to n runes with an ellipsis. Liberation Sans
// draws Latin, Greek and Cyrillic; emoji and other symbols it has no glyph
// for are dropped, and a run of letters it cannot draw (Chinese, Arabic…)
// becomes one □, so a reader sees something is missing. When nothing
// legible is left, clean returns "".
func clean(s string, n int) string {
	face := font.DefaultCache.Lookup(sans, 10).Face
	var b strings.Builder
	legible, missing := false, false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			b.WriteRune(' ')
			missing = false
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// dropped: joiners, direction marks and the like
		case has(face, r):
			b.WriteRune(r)
			legible = legible || unicode.IsLetter(r) || unicode.IsNumber(r)
			missing = false
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			if !missing {
				b.WriteRune('□')
			}
			missing = true
		}
	}
	if !legible {
		return ""
	}
	s = strings.Join(strings.Fields(b.String()), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:n-1])) + "…"
}

// fit cuts s with an ellipsis to at most width wide in sty.
func fit(s string, sty text.Style, width vg.Length) string {
	if sty.Width(s) <= width {
		return s
	}
	runes := []rune(s)
	for n := len(runes) - 1; n > 0; n-- {
		if t := strings.TrimSpace(string(runes[:n])) + "…"; sty.Width(t) <= width {
			return t
		}
	}
	return "…"
}

// has reports whether the font has a glyph for r.
func has(f *sfnt.Font, r rune) bool {
	i, err := f.GlyphIndex(nil, r)
	return err == nil && i != 0
}
