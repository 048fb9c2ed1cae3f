package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// checkinPageSize is how many key results one check-in modal page holds:
// three inputs each plus a line per objective stays within 100 blocks.
const checkinPageSize = 24

// maxCommentLen is the longest comment or blockers text.
const maxCommentLen = 3000

// checkinMeta is what a check-in modal page remembers.
type checkinMeta struct {
	CheckinID int64   `json:"k,omitempty"` // 0 for an off-cycle update
	TeamID    int64   `json:"t,omitempty"` // 0 for every team
	Page      int     `json:"p"`
	Pages     int     `json:"n"`
	KRs       []int64 `json:"r"`
	// KPIs are the KPIs asked for on this page (the last one).
	KPIs []int64 `json:"i,omitempty"`
	// The DM whose button opened the modal, to update after submitting.
	DMChannel string `json:"dc,omitempty"`
	DMTS      string `json:"dt,omitempty"`
	// Home is set when the App Home's button opened the modal.
	Home bool `json:"h,omitempty"`
}

// krAnswer is one key result's answer, as kept between pages.
type krAnswer struct {
	KR         int64   `json:"kr"`
	Value      float64 `json:"v"`
	Confidence int     `json:"c"`
	Comment    string  `json:"m,omitempty"`
}

func krInput(id int64, name string) string { return fmt.Sprintf("kr_%d_%s", id, name) }

func kpiInput(id int64) string { return fmt.Sprintf("kpi_%d_value", id) }

// maxCheckinKPIs bounds the KPIs one check-in asks for; more are counted
// and left to /okr kpi record.
const maxCheckinKPIs = 40

// kpiInputBlocks is how many blocks n KPIs take on a check-in page: a
// heading, an input each and, past maxCheckinKPIs, a line counting the rest.
func kpiInputBlocks(n int) int {
	switch {
	case n == 0:
		return 0
	case n > maxCheckinKPIs:
		return maxCheckinKPIs + 2
	}
	return n + 1
}

// checkinPages splits a check-in into pages, as [from, to) ranges of its
// key results: full pages of checkinPageSize, and a last page that leaves
// room for the KPIs' inputs, all within a modal's 100 blocks. A key result
// takes at most four blocks (three inputs and its objective's line); each
// page has a page line and the last one the blockers.
func checkinPages(krs, kpis int) [][2]int {
	lastCap := max(0, (maxViewBlocks-2-kpiInputBlocks(kpis))/4)
	var pages [][2]int
	i := 0
	for krs-i > lastCap {
		j := min(i+checkinPageSize, krs)
		pages = append(pages, [2]int{i, j})
		i = j
	}
	return append(pages, [2]int{i, krs})
}

// checkinKPIs is what the last page of a check-in asks of KPIs.
type checkinKPIs struct {
	due    []okr.KPI
	latest map[int64]okr.Reading
}

// checkinModal builds one page of the check-in form; kpis are asked for on
// the last page.
func checkinModal(meta checkinMeta, page []okr.OwnedKeyResult, kpis checkinKPIs, title string) slack.ModalViewRequest {
	var blocks []slack.Block
	if meta.Pages > 1 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("Page %d of %d", meta.Page+1, meta.Pages)))
	}
	lastObjective := int64(-1)
	for i := range page {
		kr := &page[i]
		if kr.ObjectiveID != lastObjective {
			lastObjective = kr.ObjectiveID
			blocks = append(blocks, contextBlock(fmt.Sprintf("*%s* · %s", escape(kr.ObjectiveTitle), escape(kr.TeamName))))
		}
		blocks = append(blocks, krAnswerBlocks(&kr.KeyResult, kr.Current, kr.Confidence, "")...)
	}
	submit := "Submit"
	if meta.Page+1 < meta.Pages {
		submit = "Next"
	} else {
		blocks = append(blocks, kpiInputs(kpis)...)
		blocks = append(blocks, textInput(fieldBlockers, "Blockers", "Anything in your way? Your team sees this in the digest.", "", maxCommentLen, true, true))
	}
	js, _ := json.Marshal(meta)
	v := modal(viewCheckin, title, submit, privateMetadata{}, blocks)
	v.PrivateMetadata = string(js)
	return v
}

const fieldBlockers = "blockers"

// krAnswerBlocks asks for one key result's value, confidence and comment,
// prefilled (a confidence of 0 leaves it to pick): the inputs readAnswer reads.
func krAnswerBlocks(kr *okr.KeyResult, value float64, confidence int, comment string) []slack.Block {
	label := kr.Title
	if kr.Unit != "" {
		label += " (" + kr.Unit + ")"
	}
	var blocks []slack.Block
	if kr.Kind == okr.Milestone {
		done := []*slack.OptionBlockObject{option("1", "Done"), option("0", "Not done yet")}
		initial := "0"
		if value >= 1 {
			initial = "1"
		}
		blocks = append(blocks, selectInput(krInput(kr.ID, "value"), label, "Done?", done, initial, false))
	} else {
		in := textInput(krInput(kr.ID, "value"), label, "", okr.FormatNumber(value), 30, false, false)
		blocks = append(blocks, withHint(in, fmt.Sprintf("Target %s, from %s.", okr.FormatValue(kr.Target, kr.Unit), okr.FormatValue(kr.Start, kr.Unit))))
	}
	var conf []*slack.OptionBlockObject
	for c := 10; c >= 1; c-- {
		conf = append(conf, option(strconv.Itoa(c), fmt.Sprintf("%d · %s", c, okr.ConfidenceStatus(c).Label())))
	}
	initial := ""
	if confidence > 0 {
		initial = strconv.Itoa(confidence)
	}
	return append(blocks,
		selectInput(krInput(kr.ID, "conf"), "Confidence", "How sure are you of reaching it?", conf, initial, false),
		textInput(krInput(kr.ID, "comment"), "Comment", "What moved, what didn't", comment, maxCommentLen, true, true),
	)
}

// kpiInputs asks for one value per due KPI, with its band and last value.
func kpiInputs(kpis checkinKPIs) []slack.Block {
	if len(kpis.due) == 0 {
		return nil
	}
	blocks := []slack.Block{contextBlock("*KPIs due* · this week's value of each")}
	for i := range kpis.due[:min(len(kpis.due), maxCheckinKPIs)] {
		k := &kpis.due[i]
		label := k.Name
		if k.Unit != "" {
			label += " (" + k.Unit + ")"
		}
		hint := bandWords(k)
		if r, ok := kpis.latest[k.ID]; ok {
			hint += fmt.Sprintf(" · last %s on %s", okr.FormatValue(r.Value, k.Unit), r.At.Format("Jan 2"))
		} else {
			hint += " · no reading yet"
		}
		blocks = append(blocks, withHint(textInput(kpiInput(k.ID), label, "e.g. 95", "", 30, false, false), hint))
	}
	if n := len(kpis.due) - maxCheckinKPIs; n > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more KPIs are due: record them with `/okr kpi record NAME VALUE`.", n)))
	}
	return blocks
}

// checkinTarget is what a check-in modal is about.
type checkinTarget struct {
	checkin *okr.Checkin // nil off-cycle
	krs     []okr.OwnedKeyResult
	kpis    checkinKPIs
	// owned are the person's KPIs in the check-in's team(s), due or not.
	owned map[int64]okr.KPI
	title string
}

// dueKPIs returns a person's active KPIs in a team (0: every team), those
// due at now at a weekly check-in, and the latest reading of each.
func (b *Bot) dueKPIs(ctx context.Context, userID string, teamID int64, loc *time.Location) (checkinKPIs, map[int64]okr.KPI, error) {
	mine, err := b.store.KPIsOwnedBy(ctx, userID)
	if err != nil {
		return checkinKPIs{}, nil, err
	}
	var ids []int64
	for _, k := range mine {
		if teamID == 0 || k.TeamID == teamID {
			ids = append(ids, k.ID)
		}
	}
	if len(ids) == 0 {
		return kpisDue(nil, teamID, nil, b.cfg.Now())
	}
	latest, err := b.store.LatestReadings(ctx, ids)
	if err != nil {
		return checkinKPIs{}, nil, err
	}
	return kpisDue(mine, teamID, latest, b.cfg.Now().In(loc))
}

// kpisDue picks, among a person's KPIs, those of a team (all when teamID is
// 0) and, of these, the ones due for a reading at now, given their latest
// readings.
func kpisDue(mine []okr.KPI, teamID int64, latest map[int64]okr.Reading, now time.Time) (checkinKPIs, map[int64]okr.KPI, error) {
	owned := map[int64]okr.KPI{}
	out := checkinKPIs{latest: latest}
	for _, k := range mine {
		if teamID != 0 && k.TeamID != teamID {
			continue
		}
		owned[k.ID] = k
		var last *time.Time
		if r, ok := latest[k.ID]; ok {
			last = &r.At
		}
		if okr.KPIDue(k.Cadence, last, now) {
			out.due = append(out.due, k)
		}
	}
	return out, owned, nil
}

// loadCheckin finds what a person checks in on: a check-in by id, or (with
// findOpen) their oldest open one, or, off-cycle, all their key results.
func (b *Bot) loadCheckin(ctx context.Context, userID string, checkinID int64, findOpen bool) (checkinTarget, error) {
	var t checkinTarget
	if checkinID == 0 && findOpen {
		open, err := b.store.OpenCheckins(ctx, userID)
		if err != nil {
			return t, err
		}
		if len(open) > 0 {
			checkinID = open[0].ID
		}
	}
	teamID := int64(0)
	t.title = "Update my OKRs"
	if checkinID != 0 {
		c, err := b.store.Checkin(ctx, checkinID)
		if err != nil {
			return t, err
		}
		if c.UserID != userID {
			return t, okr.Errorf(okr.EFORBIDDEN, "This check-in is <@%s>'s, not yours.", c.UserID)
		}
		if !c.Open() {
			return t, okr.Errorf(okr.ECONFLICT, "This check-in is %s already. You can still update your key results with `/okr checkin`.", checkinStateWords(c.State))
		}
		t.checkin, teamID, t.title = c, c.TeamID, "Weekly check-in"
	}
	krs, err := b.store.OwnedKeyResults(ctx, userID, teamID, b.cfg.Now())
	if err != nil {
		return t, err
	}
	if t.kpis, t.owned, err = b.dueKPIs(ctx, userID, teamID, b.location(ctx, userID)); err != nil {
		return t, err
	}
	if len(krs) == 0 && len(t.kpis.due) == 0 {
		if len(t.owned) > 0 {
			return t, okr.Errorf(okr.ENOTFOUND, "You own no key results of active objectives right now, and your KPIs were all read recently, so there is nothing to check in on. Record a KPI any time with `/okr kpi record NAME VALUE`.")
		}
		return t, okr.Errorf(okr.ENOTFOUND, "You own no key results of active objectives right now, so there is nothing to check in on. See your team's with `/okr list`.")
	}
	t.krs = krs
	return t, nil
}

func checkinStateWords(s okr.CheckinState) string {
	switch s {
	case okr.Answered:
		return "answered"
	case okr.Skipped:
		return "skipped"
	case okr.Missed:
		return "closed"
	case okr.Away:
		return "closed (you were away)"
	}
	return string(s)
}

// openCheckinModal opens the first page of a check-in; dm is the DM whose
// button opened it, if any, and fromHome says the App Home's did.
func (b *Bot) openCheckinModal(ctx context.Context, triggerID, userID string, checkinID int64, dm slack.Container, fromHome bool) error {
	t, err := b.loadCheckin(ctx, userID, checkinID, true)
	if err != nil {
		return err
	}
	pages := checkinPages(len(t.krs), len(t.kpis.due))
	meta := checkinMeta{Pages: len(pages), Home: fromHome}
	if dm.ChannelID != "" && dm.MessageTs != "" && strings.HasPrefix(dm.ChannelID, "D") {
		meta.DMChannel, meta.DMTS = dm.ChannelID, dm.MessageTs
	}
	if t.checkin != nil {
		meta.CheckinID, meta.TeamID = t.checkin.ID, t.checkin.TeamID
	}
	page := t.krs[pages[0][0]:pages[0][1]]
	for _, kr := range page {
		meta.KRs = append(meta.KRs, kr.ID)
	}
	if meta.Pages == 1 {
		meta.KPIs = kpiIDs(t.kpis.due)
	}
	return b.openView(ctx, triggerID, checkinModal(meta, page, t.kpis, t.title))
}

// cmdCheckin answers /okr checkin: the modal for my open check-in, or an
// off-cycle update of all my key results.
func (b *Bot) cmdCheckin(ctx context.Context, in commandInput) (*reply, error) {
	return nil, b.openCheckinModal(ctx, in.Slash.TriggerID, in.Slash.UserID, 0, slack.Container{}, false)
}

// actCheckinOpen opens the check-in modal from a DM button.
func (b *Bot) actCheckinOpen(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		return okr.Errorf(okr.EINVALID, "That button is broken; use `/okr checkin` instead.")
	}
	return b.openCheckinModal(ctx, cb.TriggerID, cb.User.ID, id, cb.Container, false)
}

// actCheckinNow opens my check-in modal from the App Home: my open
// check-in, or an off-cycle update of all my key results.
func (b *Bot) actCheckinNow(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, _ *slack.BlockAction) error {
	return b.openCheckinModal(ctx, cb.TriggerID, cb.User.ID, 0, slack.Container{}, true)
}

// actCheckinSkip skips this week's check-in and updates the DM.
func (b *Bot) actCheckinSkip(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		return okr.Errorf(okr.EINVALID, "That button is broken.")
	}
	c, err := b.store.Checkin(ctx, id)
	if err != nil {
		return err
	}
	if c.UserID != cb.User.ID {
		return okr.Errorf(okr.EFORBIDDEN, "This check-in is <@%s>'s, not yours.", c.UserID)
	}
	ok, err := b.store.SkipCheckin(ctx, id, b.cfg.Now())
	if err != nil {
		return err
	}
	if !ok {
		return okr.Errorf(okr.ECONFLICT, "This check-in is %s already.", checkinStateWords(c.State))
	}
	b.cfg.Observer.Checkin(string(okr.Skipped))
	team, err := b.store.Team(ctx, c.TeamID)
	if err != nil {
		return err
	}
	// The clicked message is the DM, recorded or not yet.
	c.DMChannel, c.DMTS = cb.Container.ChannelID, cb.Container.MessageTs
	return b.updateCheckinDM(ctx, *c, fmt.Sprintf("⏭️ You skipped the *%s* check-in of the week of %s. See you next week!", escape(team.Name), c.CycleStart.Format("Jan 2")))
}

// submitCheckin validates one page; saves it as a draft and shows the next
// page, or, on the last page, records every answer in one transaction.
func (b *Bot) submitCheckin(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	var meta checkinMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Pages < 1 || meta.Page < 0 || meta.Page >= meta.Pages {
		log.Warn("check-in modal with bad metadata")
		return closedModal("Check-in", "This form is out of date. Please start again with `/okr checkin`."), nil
	}
	me := cb.User.ID
	t, err := b.loadCheckin(ctx, me, meta.CheckinID, false)
	if okr.ErrorCode(err) == okr.ECONFLICT {
		return closedModal("Check-in", okr.ErrorMessage(err)+" Nothing was changed."), nil
	} else if err != nil {
		return b.formFailure(log, err, firstInput(meta))
	}
	owned := map[int64]okr.OwnedKeyResult{}
	for _, kr := range t.krs {
		owned[kr.ID] = kr
	}
	f := newForm(cb.View)
	errs := fieldErrors{}
	var answers []krAnswer
	for _, id := range meta.KRs {
		kr, ok := owned[id]
		if !ok {
			errs.add(krInput(id, "value"), "This key result is no longer yours or no longer active; start again with /okr checkin.")
			continue
		}
		if a, ok := readAnswer(f, kr, errs); ok {
			answers = append(answers, a)
		}
	}
	var readings []okr.Reading
	for _, id := range meta.KPIs {
		k, ok := t.owned[id]
		if !ok {
			log.Info("a KPI of the check-in is no longer the person's", slog.Int64("kpi_id", id))
			continue
		}
		raw := f.text(kpiInput(id))
		if raw == "" {
			errs.add(kpiInput(id), "Enter this week's value of "+k.Name+".")
			continue
		}
		v, err := okr.ParseNumber(raw)
		if err != nil {
			errs.add(kpiInput(id), okr.ErrorMessage(err))
			continue
		}
		readings = append(readings, okr.Reading{KPIID: id, Value: v, UserID: me})
	}
	blockers := f.text(fieldBlockers)
	if utf8.RuneCountInString(blockers) > maxCommentLen {
		errs.add(fieldBlockers, fmt.Sprintf("Keep it to %d characters.", maxCommentLen))
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}

	if meta.Page+1 < meta.Pages {
		if meta.CheckinID != 0 {
			js, _ := json.Marshal(answers)
			if err := b.store.SaveCheckinDraft(ctx, meta.CheckinID, meta.Page, js); err != nil {
				return b.formFailure(log, err, firstInput(meta))
			}
		} else if _, err := b.record(ctx, me, nil, answers, nil, ""); err != nil {
			return b.formFailure(log, err, firstInput(meta))
		}
		next := meta
		next.Page++
		pages := checkinPages(len(t.krs), len(t.kpis.due))
		next.Pages = max(len(pages), next.Page+1)
		bounds := [2]int{len(t.krs), len(t.krs)}
		if next.Page < len(pages) {
			bounds = pages[next.Page]
		}
		page := t.krs[bounds[0]:bounds[1]]
		next.KRs, next.KPIs = nil, nil
		for _, kr := range page {
			next.KRs = append(next.KRs, kr.ID)
		}
		if next.Page+1 == next.Pages {
			next.KPIs = kpiIDs(t.kpis.due)
		}
		v := checkinModal(next, page, t.kpis, t.title)
		return slack.NewUpdateViewSubmissionResponse(&v), nil
	}

	if meta.CheckinID != 0 {
		drafts, err := b.store.CheckinDrafts(ctx, meta.CheckinID)
		if err != nil {
			return b.formFailure(log, err, firstInput(meta))
		}
		for _, d := range drafts {
			var page []krAnswer
			if json.Unmarshal(d, &page) == nil {
				answers = append(page, answers...)
			}
		}
	}
	var checkinID *int64
	if t.checkin != nil {
		checkinID = &t.checkin.ID
	}
	recorded, err := b.record(ctx, me, checkinID, answers, readings, blockers)
	if err != nil {
		return b.formFailure(log, err, firstInput(meta))
	}
	if !recorded {
		return closedModal("Check-in", "Your check-in was already recorded; nothing was changed."), nil
	}
	log.Info("check-in recorded", slog.Int("key_results", len(answers)), slog.Int("kpi_readings", len(readings)), slog.Bool("off_cycle", checkinID == nil))
	if checkinID != nil {
		b.cfg.Observer.Checkin(string(okr.Answered))
	}
	return slack.NewClearViewSubmissionResponse(), func(ctx context.Context) {
		if b.cfg.AlertsNow != nil {
			b.cfg.AlertsNow() // readings and confidences may have raised alerts
		}
		// Before the DM's update, which is what people (and the demo) wait
		// for: the App Home is fresh by the time they see it.
		b.refreshHome(ctx, log, me, meta.Home)
		text := "✅ Thanks! " + thanksWords(len(answers), len(readings)) + "."
		if t.checkin == nil {
			b.dm(ctx, log, me, text)
			return
		}
		c := *t.checkin
		if meta.DMTS != "" {
			c.DMChannel, c.DMTS = meta.DMChannel, meta.DMTS
		} else if fresh, err := b.store.Checkin(ctx, c.ID); err == nil {
			c = *fresh
		}
		if err := b.updateCheckinDM(ctx, c, text+" "+checkinSummary(answers, owned)); err != nil {
			log.Warn("check-in DM not updated", slog.String("error", err.Error()))
		}
	}
}

// thanksWords says what a check-in recorded: "3 key results updated and 1
// KPI reading recorded".
func thanksWords(krs, readings int) string {
	var parts []string
	if krs > 0 || readings == 0 {
		parts = append(parts, fmt.Sprintf("%d key result%s updated", krs, plural(krs)))
	}
	if readings > 0 {
		parts = append(parts, fmt.Sprintf("%d KPI reading%s recorded", readings, plural(readings)))
	}
	return strings.Join(parts, " and ")
}

func kpiIDs(ks []okr.KPI) []int64 {
	ids := make([]int64, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids
}

// record writes answers as KR updates and readings, in one transaction.
func (b *Bot) record(ctx context.Context, userID string, checkinID *int64, answers []krAnswer, readings []okr.Reading, blockers string) (bool, error) {
	a := okr.CheckinAnswer{CheckinID: checkinID, UserID: userID, Blockers: blockers, At: b.cfg.Now()}
	for _, r := range readings {
		r.At, r.UserID = a.At, userID
		a.Readings = append(a.Readings, r)
	}
	for _, x := range answers {
		a.Updates = append(a.Updates, okr.KRUpdate{
			KeyResultID: x.KR, Value: x.Value, Confidence: x.Confidence,
			Status: okr.ConfidenceStatus(x.Confidence), Comment: x.Comment, UserID: userID, CheckinID: checkinID,
		})
	}
	return b.store.RecordCheckin(ctx, a)
}

// readAnswer reads one key result's inputs, recording what is wrong.
func readAnswer(f form, kr okr.OwnedKeyResult, errs fieldErrors) (krAnswer, bool) {
	a := krAnswer{KR: kr.ID, Comment: f.text(krInput(kr.ID, "comment"))}
	ok := true
	if kr.Kind == okr.Milestone {
		switch f.selected(krInput(kr.ID, "value")) {
		case "1":
			a.Value = 1
		case "0":
			a.Value = 0
		default:
			errs.add(krInput(kr.ID, "value"), "Pick done or not done yet.")
			ok = false
		}
	} else {
		v, err := okr.ParseNumber(f.text(krInput(kr.ID, "value")))
		if err != nil {
			errs.add(krInput(kr.ID, "value"), okr.ErrorMessage(err))
			ok = false
		}
		a.Value = v
	}
	c, err := strconv.Atoi(f.selected(krInput(kr.ID, "conf")))
	if err != nil || c < 1 || c > 10 {
		errs.add(krInput(kr.ID, "conf"), "Pick a confidence from 1 to 10.")
		ok = false
	}
	a.Confidence = c
	if utf8.RuneCountInString(a.Comment) > maxCommentLen {
		errs.add(krInput(kr.ID, "comment"), fmt.Sprintf("Keep it to %d characters.", maxCommentLen))
		ok = false
	}
	return a, ok
}

// checkinSummary lists what was reported, for the DM.
func checkinSummary(answers []krAnswer, owned map[int64]okr.OwnedKeyResult) string {
	var lines []string
	for _, a := range answers {
		kr, ok := owned[a.KR]
		if !ok {
			continue
		}
		kr.Current, kr.Confidence = a.Value, a.Confidence
		lines = append(lines, krLine(&kr.KeyResult))
	}
	return "\n" + truncate(strings.Join(lines, "\n"), maxSectionText-200)
}

func firstInput(m checkinMeta) string {
	if len(m.KRs) > 0 {
		return krInput(m.KRs[0], "value")
	}
	if len(m.KPIs) > 0 {
		return kpiInput(m.KPIs[0])
	}
	return fieldBlockers
}

// closedModal replaces a modal with a message and no submit button.
func closedModal(title, text string) *slack.ViewSubmissionResponse {
	v := slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(truncate(title, 24)),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
	return slack.NewUpdateViewSubmissionResponse(&v)
}
