package chart

import "github.com/okrbot/okrbot/okr"

// Picked returns the legend titles of the key results Progress draws for
// s, in the order drawn, and how many it leaves out.
func Picked(s *okr.Summary) (titles []string, hidden int) {
	lines, hidden := pick(s.Series, newTimeline(s))
	for _, l := range lines {
		titles = append(titles, l.title)
	}
	return titles, hidden
}

// Clean is clean, for tests of the legend's titles.
var Clean = clean

// Colours the tests look for in the pictures.
var (
	Background = background
	PaceColour = paceColour
	Palette    = palette
)
