package bot

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// The layout of weekly digests and quarterly summaries. Both are posted in
// a team's channel; what does not fit in one message (50 blocks) goes on
// in its thread, never cut silently.

// Limits of what a digest lists before counting the rest.
const (
	digestAtRisk   = 15
	digestBlockers = 20
	sparkReadings  = 8
)

// sparkline draws values as a line of bars scaled between their minimum
// and maximum: "▁▃▅█". A flat series is drawn at mid height.
func sparkline(values []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	steps := []rune(bars)
	if len(values) == 0 {
		return ""
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := len(steps) / 2
		if hi > lo {
			i = int(math.Round((v - lo) / (hi - lo) * float64(len(steps)-1)))
		}
		b.WriteRune(steps[i])
	}
	return b.String()
}

// change says how a progress moved since before: "▲ 8 pts", "▼ 3 pts",
// "no change", or "new" when there was no before.
func change(now float64, before *float64) string {
	if before == nil {
		return "new since the last digest"
	}
	pts := int(math.Round((now - *before) * 100))
	switch {
	case pts > 0:
		return fmt.Sprintf("▲ %d pts", pts)
	case pts < 0:
		return fmt.Sprintf("▼ %d pts", -pts)
	}
	return "no change"
}

// linesSections joins lines under a title in sections of at most
// maxSectionText, as many as needed.
func linesSections(title string, lines []string) []slack.Block {
	var blocks []slack.Block
	var b strings.Builder
	b.WriteString(title)
	for _, l := range lines {
		if utf8.RuneCountInString(b.String())+1+utf8.RuneCountInString(l) > maxSectionText {
			blocks = append(blocks, section(b.String()))
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(truncate(l, maxSectionText))
	}
	if b.Len() > 0 {
		blocks = append(blocks, section(b.String()))
	}
	return blocks
}

// digestText is the digest's notification text.
func digestText(d *okr.Digest) string {
	return fmt.Sprintf("Weekly digest of %s · %s", d.Team.Name, d.Period.Label())
}

// digestBlocks lays out a digest. An empty one is a short, helpful note.
func digestBlocks(d *okr.Digest) []slack.Block {
	title := fmt.Sprintf("Weekly digest · %s · %s", d.Team.Name, d.Period.Label())
	if d.Empty() {
		return []slack.Block{
			header(title),
			section(fmt.Sprintf("📭 Nothing to report for *%s* yet. Create an objective with `/okr new` or a KPI with `/okr kpi new`; check-ins follow on the team's schedule (`/okr schedule`).", escape(d.Team.Name))),
		}
	}
	left := int(math.Ceil(d.Period.End.Sub(d.At).Hours() / 24))
	blocks := []slack.Block{
		header(title),
		contextBlock(fmt.Sprintf("%s – %s · %s, %s",
			d.Since.Format("Jan 2"), d.At.Format("Jan 2"), d.Period.DateRange(), daysLeft(left))),
	}
	if len(d.Objectives) > 0 {
		blocks = append(blocks, section("*Objectives*"))
		for _, o := range d.Objectives {
			blocks = append(blocks, section(fmt.Sprintf("*%s*  _%s_ · <@%s>\n`%s` *%s* · %s",
				escape(o.Objective.Title), o.Objective.Kind, o.Objective.OwnerID,
				progressBar(o.Progress), okr.FormatPercent(o.Progress), change(o.Progress, o.Previous))))
		}
	} else {
		blocks = append(blocks, section("*Objectives*\n_None this quarter yet: create one with `/okr new`._"))
	}
	if len(d.AtRisk) > 0 {
		var lines []string
		for i := range d.AtRisk {
			if i == digestAtRisk {
				lines = append(lines, fmt.Sprintf("…and %d more at risk; see `/okr list`.", len(d.AtRisk)-i))
				break
			}
			kr := &d.AtRisk[i]
			s := okr.ConfidenceStatus(kr.Confidence)
			lines = append(lines, fmt.Sprintf("%s *%s* — %s · %s · <@%s> · confidence %d/10",
				statusEmoji(s), escape(kr.Title), s.Label(), okr.FormatPercent(kr.Progress()), kr.OwnerID, kr.Confidence))
		}
		blocks = append(blocks, linesSections("*At risk or off track*", lines)...)
	}
	if len(d.KPIs) > 0 {
		var lines []string
		for _, k := range d.KPIs {
			if k.Latest == nil {
				lines = append(lines, fmt.Sprintf("⚪ *%s* — no reading yet · <@%s>", escape(k.KPI.Name), k.KPI.OwnerID))
				continue
			}
			line := fmt.Sprintf("%s *%s* — %s", healthEmoji(k.Health), escape(k.KPI.Name), okr.FormatValue(k.Latest.Value, k.KPI.Unit))
			if len(k.Trend) > 1 {
				line += " · " + sparkline(k.Trend)
			}
			lines = append(lines, line+fmt.Sprintf(" · <@%s>", k.KPI.OwnerID))
		}
		blocks = append(blocks, linesSections("*KPIs*", lines)...)
	}
	if len(d.Blockers) > 0 {
		var lines []string
		for i, bl := range d.Blockers {
			if i == digestBlockers {
				lines = append(lines, fmt.Sprintf("…and %d more blockers in this week's check-ins.", len(d.Blockers)-i))
				break
			}
			quoted := "> " + strings.ReplaceAll(escape(truncate(bl.Text, 500)), "\n", "\n> ")
			lines = append(lines, quoted+fmt.Sprintf("\n— <@%s>", bl.UserID))
		}
		blocks = append(blocks, linesSections("*Blockers*", lines)...)
	}
	blocks = append(blocks, linesSections("*Participation*", participationLines(d.Participation))...)
	return blocks
}

func daysLeft(n int) string {
	switch {
	case n <= 0:
		return "the quarter is over"
	case n == 1:
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", n)
}

// participationLines says who checked in this week, x of y.
func participationLines(p okr.Participation) []string {
	asked := p.Total() - len(p.Away)
	if p.Total() == 0 {
		return []string{"_No check-ins this week._"}
	}
	lines := []string{fmt.Sprintf("✅ %d of %d checked in: %s", len(p.Answered), asked, names(sorted(p.Answered)))}
	for _, g := range []struct {
		label string
		who   []string
	}{
		{"⏭️ skipped", p.Skipped}, {"❌ missed", p.Missed}, {"⏳ not yet", p.Pending}, {"🌴 away", p.Away},
	} {
		if len(g.who) > 0 {
			lines = append(lines, fmt.Sprintf("%s: %s", g.label, names(sorted(g.who))))
		}
	}
	return lines
}

func sorted(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

// summaryText is the summary's notification text.
func summaryText(s *okr.Summary) string {
	return fmt.Sprintf("Quarterly summary of %s · %s", s.Team.Name, s.Period.Label())
}

// achievedWords says whether an objective achieved its goal, in the words
// of its kind.
func achievedWords(o *okr.ObjectiveScore) string {
	switch {
	case o.Objective.Kind == okr.Committed && o.Achieved:
		return "committed · *met* ✓"
	case o.Objective.Kind == okr.Committed:
		return "committed · *not met*"
	case o.Achieved:
		return "aspirational · *success* ✓"
	}
	return "aspirational · *not a success*"
}

// summaryBlocks lays out a quarterly summary; chartFileID, when set, is
// the uploaded chart shown at the end.
func summaryBlocks(s *okr.Summary, chartFileID string) []slack.Block {
	state := "open: scores are as of today"
	if s.Closed {
		state = "closed: scores are final"
	}
	blocks := []slack.Block{
		header(fmt.Sprintf("Quarterly summary · %s · %s", s.Team.Name, s.Period.Label())),
		contextBlock(fmt.Sprintf("%s · the quarter is %s", s.Period.DateRange(), state)),
	}
	if len(s.Objectives) == 0 {
		blocks = append(blocks, section(fmt.Sprintf("*%s* had no objectives in %s. Create next quarter's with `/okr new`.", escape(s.Team.Name), s.Period.Label())))
	}
	var carry []string
	for i := range s.Objectives {
		o := &s.Objectives[i]
		var b strings.Builder
		fmt.Fprintf(&b, "%s *%s* — score *%.1f* · %s · <@%s>", healthEmoji(o.Colour), escape(o.Objective.Title), o.Score, achievedWords(o), o.Objective.OwnerID)
		for j := range o.KRs {
			k := &o.KRs[j]
			line := fmt.Sprintf("\n• %s: %s → %s (target %s) · %.1f", escape(k.KeyResult.Title),
				krValue(&k.KeyResult, k.KeyResult.Start), krValue(&k.KeyResult, k.Final), krValue(&k.KeyResult, k.KeyResult.Target), k.Score)
			if k.KeyResult.Kind == okr.Milestone {
				line = fmt.Sprintf("\n• %s: %s · %.1f", escape(k.KeyResult.Title), krValue(&k.KeyResult, k.Final), k.Score)
			}
			more := fmt.Sprintf("\n…and %d more key results.", len(o.KRs)-j)
			if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line)+len(more) > maxSectionText {
				b.WriteString(more)
				break
			}
			b.WriteString(line)
		}
		blocks = append(blocks, section(b.String()))
		if o.CarryOver {
			carry = append(carry, fmt.Sprintf("• *%s* (%.1f)", escape(o.Objective.Title), o.Score))
		}
	}
	if len(carry) > 0 {
		blocks = append(blocks, linesSections("*To carry over* — aspirational objectives still worth pursuing; a lead can carry them into next quarter with `/okr quarter carry "+s.Period.Label()+"`", carry)...)
	}
	if len(s.KPIs) > 0 {
		var lines []string
		for _, k := range s.KPIs {
			if k.Readings == 0 {
				lines = append(lines, fmt.Sprintf("⚪ *%s* — no readings this quarter", escape(k.KPI.Name)))
				continue
			}
			lines = append(lines, fmt.Sprintf("*%s* — 🟢 %s · 🟡 %s · 🔴 %s of the time (%d readings)", escape(k.KPI.Name),
				okr.FormatPercent(k.Green), okr.FormatPercent(k.Yellow), okr.FormatPercent(k.Red), k.Readings))
		}
		blocks = append(blocks, linesSections("*KPI health over the quarter*", lines)...)
	}
	if s.Expected > 0 {
		blocks = append(blocks, section(fmt.Sprintf("*Participation*\n%d of %d check-ins answered (%s).", s.Answered, s.Expected, okr.FormatPercent(s.ParticipationRate()))))
	} else {
		blocks = append(blocks, section("*Participation*\n_No check-ins this quarter._"))
	}
	if chartFileID != "" {
		blocks = append(blocks, slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: chartFileID},
			"Key result progress by week against the expected pace", "chart",
			plain("Key result progress by week · "+s.Period.Label())))
	}
	return blocks
}

// krValue writes a key result's value: with its unit, or done / not done
// for a milestone.
func krValue(kr *okr.KeyResult, v float64) string {
	if kr.Kind == okr.Milestone {
		if v >= 1 {
			return "done"
		}
		return "not done"
	}
	return okr.FormatValue(v, kr.Unit)
}

// splitMessage cuts blocks into messages of at most maxMessageBlocks: the
// first says the rest follows in its thread.
func splitMessage(blocks []slack.Block) [][]slack.Block {
	if len(blocks) <= maxMessageBlocks {
		return [][]slack.Block{blocks}
	}
	head := append(append([]slack.Block(nil), blocks[:maxMessageBlocks-1]...), contextBlock("_Continued in the thread._"))
	out := [][]slack.Block{head}
	for rest := blocks[maxMessageBlocks-1:]; len(rest) > 0; {
		n := min(len(rest), maxMessageBlocks)
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}
