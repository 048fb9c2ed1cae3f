package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// historyPageSize is how many updates one page of a key result's history
// shows: a block each, well within a modal's 100.
const historyPageSize = 20

// maxHistoryPages bounds how far back a history pages.
const maxHistoryPages = 50

// maxHistoryComment is how much of a comment a history shows.
const maxHistoryComment = 600

// historyMeta is what a history modal remembers.
type historyMeta struct {
	KR   int64 `json:"r"`
	Page int   `json:"p"`
	Home bool  `json:"h,omitempty"` // opened from the App Home
}

// correctionMeta is what a correction modal remembers.
type correctionMeta struct {
	Update int64  `json:"u"`
	View   string `json:"v,omitempty"` // the history modal under it
	Home   bool   `json:"h,omitempty"`
}

// historyPage is one page of a key result's history as a viewer sees it.
type historyPage struct {
	kr      *okr.OwnedKeyResult
	meta    historyMeta
	entries []okr.KRHistoryEntry
	older   bool // there are older updates
	// correctable are the updates the viewer may correct.
	correctable map[int64]bool
	loc         *time.Location
}

// valueWords writes a key result's value: "8 h", or done / not done.
func valueWords(kr *okr.KeyResult, v float64) string {
	if kr.Kind == okr.Milestone {
		if v >= 1 {
			return "done ✓"
		}
		return "not done yet"
	}
	return okr.FormatValue(v, kr.Unit)
}

// historyEntryText describes one update: value, confidence and status, who
// and when, its comment, and whether it was corrected or corrects another.
func historyEntryText(kr *okr.KeyResult, e *okr.KRHistoryEntry, loc *time.Location) string {
	value := valueWords(kr, e.Value)
	status := okr.ConfidenceStatus(e.Confidence)
	conf := "no confidence given"
	if e.Confidence > 0 {
		conf = fmt.Sprintf("confidence %d/10, %s", e.Confidence, status.Label())
	}
	var b strings.Builder
	switch {
	case e.Corrected():
		fmt.Fprintf(&b, "~%s · %s~ · _corrected_", value, conf)
	case e.CorrectsID != nil:
		fmt.Fprintf(&b, "✏️ *%s* · %s %s · _correction_", value, statusEmoji(status), conf)
	default:
		fmt.Fprintf(&b, "*%s* · %s %s", value, statusEmoji(status), conf)
	}
	fmt.Fprintf(&b, "\n<@%s> · %s", e.UserID, formatWhen(e.CreatedAt, loc))
	if e.CheckinID != nil && e.CorrectsID == nil {
		b.WriteString(" · weekly check-in")
	}
	if c := strings.TrimSpace(e.Comment); c != "" {
		for _, line := range strings.Split(truncate(c, maxHistoryComment), "\n") {
			b.WriteString("\n> " + escape(line))
		}
	}
	return b.String()
}

// historyModal shows a page of a key result's updates, newest report
// first, with a Correct button on those the viewer may correct.
func historyModal(p historyPage) slack.ModalViewRequest {
	kr := p.kr
	blocks := []slack.Block{
		section(krLine(&kr.KeyResult) + fmt.Sprintf("\n_%s · %s_", escape(kr.ObjectiveTitle), escape(kr.TeamName))),
		slack.NewDividerBlock(),
	}
	if len(p.entries) == 0 {
		blocks = append(blocks, section("_No updates yet: they come with check-ins (`/okr checkin`)._"))
	}
	for i := range p.entries {
		e := &p.entries[i]
		var acc *slack.Accessory
		if p.correctable[e.ID] {
			acc = slack.NewAccessory(button(actionKRCorrect, "Correct", strconv.FormatInt(e.ID, 10), ""))
		}
		blocks = append(blocks, slack.NewSectionBlock(
			slack.NewTextBlockObject(slack.MarkdownType, truncate(historyEntryText(&kr.KeyResult, e, p.loc), maxSectionText), false, false),
			nil, acc, slack.SectionBlockOptionBlockID(updateBlockID(e.ID))))
	}
	var pages []slack.BlockElement
	if p.meta.Page > 0 {
		pages = append(pages, button(actionKRHistoryNewer, "← Newer", historyPageValue(kr.ID, p.meta.Page-1), ""))
	}
	if p.older && p.meta.Page+1 < maxHistoryPages {
		pages = append(pages, button(actionKRHistoryOlder, "Older →", historyPageValue(kr.ID, p.meta.Page+1), ""))
	}
	if len(pages) > 0 {
		blocks = append(blocks, slack.NewActionBlock("history_pages", pages...))
	}
	if len(p.correctable) > 0 {
		blocks = append(blocks, contextBlock("A correction is kept beside the update it corrects: nothing is erased."))
	}
	js, _ := json.Marshal(p.meta)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      viewKRHistory,
		Title:           plain("Key result history"),
		Close:           plain("Close"),
		PrivateMetadata: string(js),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// updateBlockID names the block of an update in a history.
func updateBlockID(id int64) string { return "update_" + strconv.FormatInt(id, 10) }

func historyPageValue(krID int64, page int) string {
	return strconv.FormatInt(krID, 10) + ":" + strconv.Itoa(page)
}

// historyView reads one page of a key result's history for a viewer, who
// must be able to see the key result's team.
func (b *Bot) historyView(ctx context.Context, viewer string, meta historyMeta) (slack.ModalViewRequest, error) {
	kr, err := b.store.KeyResult(ctx, meta.KR)
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return slack.ModalViewRequest{}, okr.Errorf(okr.ENOTFOUND, "That key result no longer exists.")
	} else if err != nil {
		return slack.ModalViewRequest{}, err
	}
	team, err := b.teamOf(ctx, kr.TeamID)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	if ok, err := b.canRead(ctx, team, viewer); err != nil {
		return slack.ModalViewRequest{}, err
	} else if !ok {
		return slack.ModalViewRequest{}, okr.Errorf(okr.EFORBIDDEN, "You're not in *%s*, so you can't see its key results. %s", escape(team.Name), b.leadsLine(ctx, team))
	}
	meta.Page = max(0, min(meta.Page, maxHistoryPages-1))
	from := meta.Page * historyPageSize
	entries, err := b.store.KRHistory(ctx, kr.ID, from+historyPageSize+1)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	p := historyPage{kr: kr, meta: meta, correctable: map[int64]bool{}, loc: b.location(ctx, viewer)}
	if from < len(entries) {
		p.entries = entries[from:min(len(entries), from+historyPageSize)]
		p.older = len(entries) > from+historyPageSize
	}
	role, actor, err := b.roleIn(ctx, team.ID, viewer)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	for _, e := range p.entries {
		if !e.Corrected() && (e.UserID == viewer || actor.CanLead(role)) {
			p.correctable[e.ID] = true
		}
	}
	return historyModal(p), nil
}

// actKRHistory opens a key result's history: from the App Home's History
// button or a list's History menu.
func (b *Bot) actKRHistory(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, a *slack.BlockAction) error {
	raw := a.Value
	if raw == "" {
		raw = a.SelectedOption.Value
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return okr.Errorf(okr.EINVALID, "That button is broken; see your key results with `/okr list`.")
	}
	v, err := b.historyView(ctx, cb.User.ID, historyMeta{KR: id, Home: cb.View.Type == slack.VTHomeTab})
	if err != nil {
		return err
	}
	return b.openView(ctx, cb.TriggerID, v)
}

// actKRHistoryPage shows a newer or older page of a history in its modal.
func (b *Bot) actKRHistoryPage(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback, a *slack.BlockAction) error {
	kr, page, ok := strings.Cut(a.Value, ":")
	id, err1 := strconv.ParseInt(kr, 10, 64)
	n, err2 := strconv.Atoi(page)
	if !ok || err1 != nil || err2 != nil {
		return okr.Errorf(okr.EINVALID, "That button is broken; open the history again.")
	}
	var old historyMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &old)
	v, err := b.historyView(ctx, cb.User.ID, historyMeta{KR: id, Page: n, Home: old.Home})
	if err != nil {
		return err
	}
	if _, err := b.api.UpdateViewContext(ctx, v, "", cb.View.Hash, cb.View.ID); err != nil {
		log.Warn("history page not shown", slog.String("error", redactError(err)))
	}
	return nil
}

// mayCorrect reports whether a person may correct an update: its author
// may, and so may a lead of the key result's team (or a workspace admin).
func (b *Bot) mayCorrect(ctx context.Context, u *okr.KRUpdate, team *okr.Team, userID string) (bool, error) {
	if u.UserID == userID {
		return true, nil
	}
	role, actor, err := b.roleIn(ctx, team.ID, userID)
	if err != nil {
		return false, err
	}
	return actor.CanLead(role), nil
}

// correctionTarget is an update to correct, with its key result and team.
type correctionTarget struct {
	update *okr.KRUpdate
	kr     *okr.OwnedKeyResult
	team   *okr.Team
}

func (b *Bot) loadCorrection(ctx context.Context, updateID int64) (correctionTarget, error) {
	var t correctionTarget
	var err error
	if t.update, err = b.store.KRUpdate(ctx, updateID); err != nil {
		return t, err
	}
	if t.kr, err = b.store.KeyResult(ctx, t.update.KeyResultID); err != nil {
		return t, err
	}
	t.team, err = b.teamOf(ctx, t.kr.TeamID)
	return t, err
}

// refusedCorrection says who may correct an update.
func refusedCorrection(team *okr.Team) string {
	return fmt.Sprintf("Only the person who reported this update, or a lead of %s, can correct it.", team.Name)
}

// actKRCorrect pushes the form to correct an update onto its history.
func (b *Bot) actKRCorrect(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		return okr.Errorf(okr.EINVALID, "That button is broken; open the history again.")
	}
	me := cb.User.ID
	t, err := b.loadCorrection(ctx, id)
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return b.pushView(ctx, cb.TriggerID, noticeModal("Correct an update", "That update no longer exists."))
	} else if err != nil {
		return err
	}
	if ok, err := b.mayCorrect(ctx, t.update, t.team, me); err != nil {
		return err
	} else if !ok {
		return b.pushView(ctx, cb.TriggerID, noticeModal("Can't correct this", "⛔ "+escape(refusedCorrection(t.team))+" "+b.leadsLine(ctx, t.team)))
	}
	var hist historyMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &hist)
	meta := correctionMeta{Update: id, View: cb.View.ID, Home: hist.Home}
	return b.pushView(ctx, cb.TriggerID, correctionModal(meta, t, b.location(ctx, me)))
}

// correctionModal is the form to correct an update, prefilled with it.
func correctionModal(meta correctionMeta, t correctionTarget, loc *time.Location) slack.ModalViewRequest {
	u, kr := t.update, &t.kr.KeyResult
	conf := ""
	if u.Confidence > 0 {
		conf = fmt.Sprintf(", confidence %d/10", u.Confidence)
	}
	blocks := []slack.Block{
		contextBlock(fmt.Sprintf("Correcting <@%s>'s update of %s: *%s*%s.", u.UserID, formatWhen(u.CreatedAt, loc), valueWords(kr, u.Value), conf)),
	}
	blocks = append(blocks, krAnswerBlocks(kr, u.Value, u.Confidence, u.Comment)...)
	blocks = append(blocks, contextBlock("The update stays in the history, struck through, with your correction beside it."))
	js, _ := json.Marshal(meta)
	v := modal(viewKRCorrect, "Correct an update", "Save", privateMetadata{}, blocks)
	v.PrivateMetadata = string(js)
	return v
}

// noticeModal is a modal that only says something.
func noticeModal(title, text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(truncate(title, 24)),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// pushView pushes a modal onto the one a button was pressed in.
func (b *Bot) pushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) error {
	_, err := b.api.PushViewContext(ctx, triggerID, v)
	if err == nil {
		return nil
	}
	switch err.Error() {
	case "expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id":
		return okr.Errorf(okr.ECONFLICT, "Slack took too long to open the form. Please press the button again.")
	case "push_limit_reached":
		return okr.Errorf(okr.ECONFLICT, "Too many forms are open: close one and press the button again.")
	}
	return fmt.Errorf("bot: push view %s: %w", v.CallbackID, err)
}

// submitKRCorrect checks and records a correction, then shows the history
// under it again with the correction in it.
func (b *Bot) submitKRCorrect(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	var meta correctionMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Update == 0 {
		log.Warn("correction modal with bad metadata")
		return closedModal("Correct an update", "This form is out of date. Please open the history again."), nil
	}
	me := cb.User.ID
	t, err := b.loadCorrection(ctx, meta.Update)
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return closedModal("Correct an update", "That update or its key result no longer exists; nothing was changed."), nil
	} else if err != nil {
		log.Error("cannot load a correction", slog.String("error", err.Error()))
		return closedModal("Correct an update", b.userMessage(log, err)), nil
	}
	kr := t.kr
	field := krInput(kr.ID, "value")
	if ok, err := b.mayCorrect(ctx, t.update, t.team, me); err != nil {
		return b.formFailure(log, err, field)
	} else if !ok {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{field: refusedCorrection(t.team)}), nil
	}
	errs := fieldErrors{}
	a, ok := readAnswer(newForm(cb.View), *kr, errs)
	if !ok {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	c := &okr.KRUpdate{CorrectsID: &t.update.ID, Value: a.Value, Confidence: a.Confidence, Comment: a.Comment, UserID: me}
	followed, err := b.store.CorrectKRUpdate(ctx, c)
	switch {
	case okr.ErrorCode(err) == okr.ECONFLICT:
		return slack.NewErrorsViewSubmissionResponse(map[string]string{field: "This update was corrected already: correct the correction instead, just above it in the history."}), nil
	case err != nil:
		var de *okr.Error
		if errors.As(err, &de) && de.Field == "confidence" {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{krInput(kr.ID, "conf"): de.Message}), nil
		}
		return b.formFailure(log, fmt.Errorf("bot: correct update: %w", err), field)
	}
	log.Info("key result update corrected", slog.Int64("update_id", t.update.ID), slog.Int64("correction_id", c.ID),
		slog.Int64("key_result_id", kr.ID), slog.Bool("followed", followed))
	// An empty ack closes this form and shows the history under it.
	return nil, func(ctx context.Context) {
		if followed && b.cfg.AlertsNow != nil {
			b.cfg.AlertsNow() // the confidence may have raised or cleared an alert
		}
		if meta.View != "" {
			if v, err := b.historyView(ctx, me, historyMeta{KR: kr.ID, Home: meta.Home}); err != nil {
				log.Warn("history not shown again", slog.String("error", err.Error()))
			} else if _, err := b.api.UpdateViewContext(ctx, v, "", "", meta.View); err != nil {
				log.Warn("history not shown again", slog.String("error", redactError(err)))
			}
		}
		b.refreshHome(ctx, log, me, meta.Home)
	}
}
