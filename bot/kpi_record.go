package bot

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// Inputs of the Record KPI modal.
const (
	fieldKPI   = "kpi"
	fieldValue = "value"
	fieldNote  = "note"
)

// actRecordKPI opens the form to record a reading of one of my teams'
// KPIs, from the App Home: mine first.
func (b *Bot) actRecordKPI(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, _ *slack.BlockAction) error {
	me := cb.User.ID
	teams, err := b.store.TeamsByMember(ctx, me)
	if err != nil {
		return err
	}
	if len(teams) == 0 {
		return okr.Errorf(okr.EINVALID, "You're not in a team yet. Create one with `/okr team create NAME` in your team's channel, or ask a lead to add you.")
	}
	var ks []okr.KPI
	names := map[int64]string{}
	for _, t := range teams {
		tk, err := b.store.KPIsByTeam(ctx, t.ID)
		if err != nil {
			return err
		}
		ks = append(ks, tk...)
		names[t.ID] = t.Name
	}
	if len(ks) == 0 {
		return okr.Errorf(okr.ENOTFOUND, "Your teams have no KPIs yet. Define one with `/okr kpi new`.")
	}
	slices.SortStableFunc(ks, func(a, b okr.KPI) int {
		return cmp.Compare(boolRank(a.OwnerID != me), boolRank(b.OwnerID != me))
	})
	return b.openView(ctx, cb.TriggerID, kpiRecordModal(ks, names, len(teams) > 1))
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kpiRecordModal is the form to record a KPI reading: which KPI, its
// value and a note.
func kpiRecordModal(ks []okr.KPI, teams map[int64]string, withTeam bool) slack.ModalViewRequest {
	var opts []*slack.OptionBlockObject
	for _, k := range ks {
		text := k.Name
		if k.Unit != "" {
			text += " (" + k.Unit + ")"
		}
		if withTeam {
			text += " · " + teams[k.TeamID]
		}
		opts = append(opts, option(strconv.FormatInt(k.ID, 10), text))
	}
	blocks := []slack.Block{
		withHint(selectInput(fieldKPI, "KPI", "Pick a KPI", opts, opts[0].Value, false),
			"Its owner or a lead of its team records it."),
		textInput(fieldValue, "Value", "e.g. 96%", "", 30, false, false),
		textInput(fieldNote, "Note", "What explains it, if anything", "", maxNoteLen, true, true),
	}
	return modal(viewKPIRecord, "Record a KPI reading", "Record", privateMetadata{}, blocks)
}

// submitKPIRecord checks and records a reading from the Record KPI form,
// with the rules of /okr kpi record, inline.
func (b *Bot) submitKPIRecord(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	f := newForm(cb.View)
	me := cb.User.ID
	errs := fieldErrors{}
	id, err := strconv.ParseInt(f.selected(fieldKPI), 10, 64)
	if err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldKPI: "Pick a KPI."}), nil
	}
	k, err := b.store.KPI(ctx, id)
	if okr.ErrorCode(err) == okr.ENOTFOUND || (err == nil && k.ArchivedAt != nil) {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldKPI: "That KPI no longer exists or was archived; pick another."}), nil
	} else if err != nil {
		return b.formFailure(log, err, fieldKPI)
	}
	team, err := b.store.Team(ctx, k.TeamID)
	if err != nil {
		return b.formFailure(log, err, fieldKPI)
	}
	if err := b.requireKPIManager(ctx, k, team, me, "record"); okr.ErrorCode(err) == okr.EFORBIDDEN {
		errs.add(fieldKPI, fmt.Sprintf("Only its owner or a lead of %s can record %s.", team.Name, k.Name))
	} else if err != nil {
		return b.formFailure(log, err, fieldKPI)
	}
	var value float64
	if raw := f.text(fieldValue); raw == "" {
		errs.add(fieldValue, "Enter a value, e.g. 96%.")
	} else if value, err = okr.ParseNumber(raw); err != nil {
		errs.add(fieldValue, okr.ErrorMessage(err))
	}
	note := f.text(fieldNote)
	if n := utf8.RuneCountInString(note); n > maxNoteLen {
		errs.add(fieldNote, fmt.Sprintf("Keep the note to %d characters (it has %d).", maxNoteLen, n))
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	text, err := b.saveReading(ctx, log, me, k, value, note)
	if err != nil {
		return b.formFailure(log, err, fieldValue)
	}
	return nil, func(ctx context.Context) {
		b.dm(ctx, log, me, "✅ "+text)
		b.refreshHome(ctx, log, me, true)
	}
}
