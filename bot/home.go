package bot

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/okrbot/okrbot/okr"
)

// Limits of the App Home, which must fit Slack's 100 blocks however much a
// person owns: what does not fit is counted and left to /okr list.
const (
	maxHomeObjectives = 20 // objectives shown, most in need of attention first
	maxHomeKeyResults = 8  // key results shown per objective
	maxHomeAtRisk     = 5  // at-risk key results of my teams
	maxHomeCheckins   = 3  // teams whose next check-in is shown
	// homeSeenFor is how long after publishing a person's App Home the bot
	// refreshes it when they change something elsewhere.
	homeSeenFor = 24 * time.Hour
)

// onAppHomeOpened publishes a person's App Home: their OKRs this quarter.
func (b *Bot) onAppHomeOpened(ctx context.Context, log *slog.Logger, e slackevents.EventsAPIInnerEvent) error {
	ev, ok := e.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || ev.Tab != "home" {
		return nil
	}
	return b.publishHome(ctx, ev.User)
}

// homeData is what a person's App Home shows.
type homeData struct {
	userID string
	period okr.Period
	// objectives are theirs (owned, or with a key result they own), most
	// in need of attention first.
	objectives []okr.Objective
	teams      map[int64]string // team names by id
	kpis       []slack.Block
	checkins   []string // when their check-ins are
	// atRisk are their teams' key results at risk or off track; moreAtRisk
	// says there are more than shown.
	atRisk     []okr.OwnedKeyResult
	moreAtRisk bool
}

// publishHome builds and publishes a person's App Home.
func (b *Bot) publishHome(ctx context.Context, userID string) error {
	d, err := b.homeData(ctx, userID)
	if err != nil {
		return err
	}
	_, err = b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{
		UserID: userID,
		View:   slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: homeBlocks(d)}},
	})
	if err != nil {
		return fmt.Errorf("bot: publish home: %w", err)
	}
	b.homes.Store(userID, time.Now())
	return nil
}

// refreshHome publishes a person's App Home again after they changed
// something, when it is cheap: only if they came from it (fromHome) or this
// bot showed it to them lately, and never more often than homeRefreshes
// allows (their next visit shows it fresh anyway).
func (b *Bot) refreshHome(ctx context.Context, log *slog.Logger, userID string, fromHome bool) {
	if !fromHome {
		v, ok := b.homes.Load(userID)
		if !ok || time.Since(v.(time.Time)) > homeSeenFor {
			return
		}
	}
	if !b.homeRefreshes.Allow() {
		log.Info("App Home not refreshed: many refreshes just now")
		return
	}
	if err := b.publishHome(ctx, userID); err != nil {
		log.Warn("App Home not refreshed", slog.String("error", redactError(err)))
	}
}

// homeData reads what a person's App Home shows.
func (b *Bot) homeData(ctx context.Context, userID string) (homeData, error) {
	d := homeData{userID: userID, period: b.currentQuarter(), teams: map[int64]string{}}
	objs, err := b.store.ObjectivesByOwner(ctx, userID, d.period.Label())
	if err != nil {
		return d, err
	}
	byAttention(objs)
	d.objectives = objs
	for _, o := range objs {
		if _, ok := d.teams[o.TeamID]; !ok {
			t, err := b.teamOf(ctx, o.TeamID)
			if err != nil {
				return d, err
			}
			d.teams[o.TeamID] = t.Name
		}
	}
	ks, err := b.store.KPIsOwnedBy(ctx, userID)
	if err != nil {
		return d, err
	}
	if d.kpis, err = b.kpiBlocks(ctx, "Your KPIs", ks); err != nil {
		return d, err
	}
	if d.checkins, err = b.checkinLines(ctx, userID, ks); err != nil {
		return d, err
	}
	if d.atRisk, err = b.store.KeyResultsAtRisk(ctx, userID, b.cfg.Now(), maxHomeAtRisk+1); err != nil {
		return d, err
	}
	if len(d.atRisk) > maxHomeAtRisk {
		d.atRisk, d.moreAtRisk = d.atRisk[:maxHomeAtRisk], true
	}
	return d, nil
}

// checkinLines says when a person's check-ins are, in their time zone:
// those open now, and the next one of each team that owes them one (they
// own a key result of an active objective or a KPI of it), soonest first.
func (b *Bot) checkinLines(ctx context.Context, userID string, kpis []okr.KPI) ([]string, error) {
	until, err := b.store.AwayUntil(ctx, userID)
	if err != nil {
		return nil, err
	}
	if until != nil {
		return []string{fmt.Sprintf("🌴 You're away until %s: no check-ins until then. `/okr back` ends it.", until.Format("Mon, Jan 2"))}, nil
	}
	loc := b.location(ctx, userID)
	now := b.cfg.Now()
	var lines []string
	open, err := b.store.OpenCheckins(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range open[:min(len(open), maxHomeCheckins)] {
		t, err := b.teamOf(ctx, c.TeamID)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("📝 Your *%s* check-in is open: answer by %s.", escape(t.Name), formatWhen(c.ClosesAt(), loc)))
	}
	krs, err := b.store.OwnedKeyResults(ctx, userID, 0, now)
	if err != nil {
		return nil, err
	}
	owed := map[int64]string{}
	for _, kr := range krs {
		owed[kr.TeamID] = kr.TeamName
	}
	for _, k := range kpis {
		if _, ok := owed[k.TeamID]; !ok {
			t, err := b.teamOf(ctx, k.TeamID)
			if err != nil {
				return nil, err
			}
			owed[k.TeamID] = t.Name
		}
	}
	if len(owed) == 0 {
		return append(lines, "🗓️ No weekly check-in for you yet: it comes once you own a key result or a KPI."), nil
	}
	type next struct {
		at   time.Time
		team string
	}
	var nexts []next
	for id, name := range owed {
		s, err := b.store.Schedule(ctx, id)
		if err != nil {
			return nil, err
		}
		nexts = append(nexts, next{s.NextCheckin(now, loc), name})
	}
	slices.SortFunc(nexts, func(a, b next) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.team, b.team))
	})
	var when []string
	for _, n := range nexts[:min(len(nexts), maxHomeCheckins)] {
		when = append(when, fmt.Sprintf("*%s* · %s", formatWhen(n.at, loc), escape(n.team)))
	}
	line := "🗓️ Next check-in: " + strings.Join(when, ", then ")
	if n := len(nexts) - maxHomeCheckins; n > 0 {
		line += fmt.Sprintf(" (and %d more team%s)", n, plural(n))
	}
	return append(lines, line), nil
}

// statusRank orders statuses by the attention they need.
func statusRank(s okr.Status) int {
	switch s {
	case okr.OffTrack:
		return 0
	case okr.AtRisk:
		return 1
	case okr.NoStatus:
		return 2
	}
	return 3
}

// byAttention orders objectives most in need of attention first: active
// ones before closed ones; then by their worst key result (off track, at
// risk, no check-in yet, on track); then the lowest confidence; then the
// least progress; objectives otherwise alike keep their order.
func byAttention(objs []okr.Objective) {
	type key struct {
		closed   bool
		status   int
		conf     int
		progress float64
	}
	keyOf := func(o *okr.Objective) key {
		k := key{closed: o.Status == okr.Closed, status: statusRank(okr.NoStatus), conf: 11, progress: o.Progress()}
		if len(o.KeyResults) > 0 {
			k.status = statusRank(okr.OnTrack)
		}
		for i := range o.KeyResults {
			c := o.KeyResults[i].Confidence
			k.status = min(k.status, statusRank(okr.ConfidenceStatus(c)))
			if c > 0 {
				k.conf = min(k.conf, c)
			}
		}
		return k
	}
	keys := make(map[int64]key, len(objs))
	for i := range objs {
		keys[objs[i].ID] = keyOf(&objs[i])
	}
	slices.SortStableFunc(objs, func(a, b okr.Objective) int {
		ka, kb := keys[a.ID], keys[b.ID]
		closed := 0
		switch {
		case ka.closed && !kb.closed:
			closed = 1
		case !ka.closed && kb.closed:
			closed = -1
		}
		return cmp.Or(closed, cmp.Compare(ka.status, kb.status), cmp.Compare(ka.conf, kb.conf), cmp.Compare(ka.progress, kb.progress))
	})
}

// homeBlocks lays out the App Home within its 100 blocks: when my
// check-ins are and what I can do, my objectives most in need of attention
// first with a History button per key result (what does not fit is
// counted), then my teams' key results at risk and my KPIs.
func homeBlocks(d homeData) []slack.Block {
	blocks := []slack.Block{header("Your OKRs · " + d.period.Label())}
	if len(d.checkins) > 0 {
		blocks = append(blocks, contextBlock(strings.Join(d.checkins, "\n")))
	}
	blocks = append(blocks, slack.NewActionBlock("home_actions",
		button(actionCheckinNow, "Check in now", "now", slack.StylePrimary),
		button(actionNewObjective, "New objective", "new", ""),
		button(actionRecordKPI, "Record KPI", "record", ""),
	), slack.NewDividerBlock())

	var tail []slack.Block
	if len(d.atRisk) > 0 {
		tail = append(tail, slack.NewDividerBlock(), section(atRiskText(d.atRisk, d.moreAtRisk)))
	}
	tail = append(tail, d.kpis...)

	if len(d.objectives) == 0 {
		blocks = append(blocks, section("You own no objectives or key results this quarter yet. Create one with *New objective*, or see your team's with `/okr list`."))
		return append(blocks, tail...)
	}
	budget := maxViewBlocks - len(blocks) - len(tail) - 1 // keep room for the "and N more" line
	shown := 0
	for i := range d.objectives {
		o := &d.objectives[i]
		ob := homeObjectiveBlocks(o, d.teams[o.TeamID], d.userID)
		if shown == maxHomeObjectives || len(ob) > budget {
			break
		}
		blocks = append(blocks, ob...)
		budget -= len(ob)
		shown++
	}
	if n := len(d.objectives) - shown; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more objective%s — see `/okr list`.", n, plural(n))))
	}
	return append(blocks, tail...)
}

// homeObjectiveBlocks shows an objective with its progress, then a line
// per key result with its progress bar and a History button.
func homeObjectiveBlocks(o *okr.Objective, team, me string) []slack.Block {
	head := fmt.Sprintf("*%s*  _%s_ · %s", escape(o.Title), o.Kind, escape(team))
	if o.OwnerID != me {
		head += fmt.Sprintf(" · <@%s>", o.OwnerID)
	}
	if o.Status == okr.Closed {
		head += " · closed"
	}
	head += fmt.Sprintf("\n`%s` *%s*", progressBar(o.Progress()), okr.FormatPercent(o.Progress()))
	if len(o.KeyResults) == 0 {
		head += "\n_No key results yet: add one with `/okr kr add`._"
	}
	blocks := []slack.Block{section(head)}
	for i := range o.KeyResults[:min(len(o.KeyResults), maxHomeKeyResults)] {
		kr := &o.KeyResults[i]
		blocks = append(blocks, slack.NewSectionBlock(
			slack.NewTextBlockObject(slack.MarkdownType, truncate("`"+progressBar(kr.Progress())+"` "+krLine(kr), maxSectionText), false, false),
			nil,
			slack.NewAccessory(button(actionKRHistory, "History", strconv.FormatInt(kr.ID, 10), "")),
			slack.SectionBlockOptionBlockID(krBlockID(kr.ID)),
		))
	}
	if n := len(o.KeyResults) - maxHomeKeyResults; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more key result%s — see `/okr list`.", n, plural(n))))
	}
	return blocks
}

// krBlockID names the block of a key result's line in the App Home.
func krBlockID(id int64) string { return "kr_" + strconv.FormatInt(id, 10) }

// atRiskText lists my teams' key results at risk or off track, least
// confident first, with their owner and confidence.
func atRiskText(krs []okr.OwnedKeyResult, more bool) string {
	lines := []string{"*At risk in your teams*"}
	for i := range krs {
		kr := &krs[i]
		lines = append(lines, fmt.Sprintf("%s *%s* · %s · %s · <@%s> · confidence %d/10",
			statusEmoji(okr.ConfidenceStatus(kr.Confidence)), escape(kr.Title), escape(kr.ObjectiveTitle),
			escape(kr.TeamName), kr.OwnerID, kr.Confidence))
	}
	if more {
		lines = append(lines, "…and more: see `/okr list`.")
	}
	return strings.Join(lines, "\n")
}
