package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// The whole Slack surface of the bot, in one place.

// commandHandlers maps each /okr subcommand to its handler. A subcommand of
// the grammar with no handler here answers that it is not built yet.
func (b *Bot) commandHandlers() map[string]commandHandler {
	return map[string]commandHandler{
		"":              b.cmdGlance,
		"help":          b.cmdHelp,
		"list":          b.cmdList,
		"new":           b.cmdNewObjective,
		"kr add":        b.cmdAddKeyResult,
		"kpi new":       b.cmdKPINew,
		"kpi edit":      b.cmdKPIEdit,
		"kpi archive":   b.cmdKPIArchive,
		"kpi record":    b.cmdKPIRecord,
		"team create":   b.cmdTeamCreate,
		"team add":      b.cmdTeamAdd,
		"team lead":     b.cmdTeamLead,
		"checkin":       b.cmdCheckin,
		"checkin send":  b.cmdCheckinSend,
		"schedule":      b.cmdSchedule,
		"digest":        b.cmdDigest,
		"summary":       b.cmdSummary,
		"quarter close": b.cmdQuarterClose,
		"quarter carry": b.cmdQuarterCarry,
		"export":        b.cmdExport,
		"away":          b.cmdAway,
		"back":          b.cmdBack,
	}
}

// Action ids of buttons and menus.
const (
	actionNewObjective   = "new_objective"
	actionCheckinOpen    = "checkin_open"
	actionCheckinSkip    = "checkin_skip"
	actionCheckinNow     = "checkin_now"      // App Home: my check-in modal
	actionRecordKPI      = "kpi_record_open"  // App Home: the Record KPI modal
	actionKRHistory      = "kr_history"       // App Home button, list menu: a key result's history
	actionKRHistoryNewer = "kr_history_newer" // history modal: newer updates
	actionKRHistoryOlder = "kr_history_older" // history modal: older updates
	actionKRCorrect      = "kr_correct"       // history modal: correct an update
	actionObjectiveAddKR = "objective_add_kr" // new-objective modal: one more key result
)

// actionHandlers maps block_actions action ids to handlers.
func (b *Bot) actionHandlers() map[string]actionHandler {
	return map[string]actionHandler{
		actionNewObjective:   b.actNewObjective,
		actionCheckinOpen:    b.actCheckinOpen,
		actionCheckinSkip:    b.actCheckinSkip,
		actionCheckinNow:     b.actCheckinNow,
		actionRecordKPI:      b.actRecordKPI,
		actionKRHistory:      b.actKRHistory,
		actionKRHistoryNewer: b.actKRHistoryPage,
		actionKRHistoryOlder: b.actKRHistoryPage,
		actionKRCorrect:      b.actKRCorrect,
		actionObjectiveAddKR: b.actObjectiveAddKR,
	}
}

// Callback ids of modals.
const (
	viewNewObjective = "objective_new"
	viewAddKeyResult = "kr_add"
	viewCheckin      = "checkin"
	viewSchedule     = "schedule"
	viewKPINew       = "kpi_new"
	viewKPIEdit      = "kpi_edit"
	viewKPIRecord    = "kpi_record"
	viewKRHistory    = "kr_history" // no submit button: never submitted
	viewKRCorrect    = "kr_correct"
)

// viewHandlers maps view_submission callback ids to handlers.
func (b *Bot) viewHandlers() map[string]viewHandler {
	return map[string]viewHandler{
		viewNewObjective: b.submitNewObjective,
		viewAddKeyResult: b.submitAddKeyResult,
		viewCheckin:      b.submitCheckin,
		viewSchedule:     b.submitSchedule,
		viewKPINew:       b.submitKPI,
		viewKPIEdit:      b.submitKPI,
		viewKPIRecord:    b.submitKPIRecord,
		viewKRCorrect:    b.submitKRCorrect,
	}
}

// eventHandlers maps Events API event types to handlers.
func (b *Bot) eventHandlers() map[string]eventHandler {
	return map[string]eventHandler{
		string(slackevents.AppHomeOpened): b.onAppHomeOpened,
	}
}

// commandInput is a parsed slash command with who sent it and from where.
type commandInput struct {
	Cmd   Command
	Slash slack.SlashCommand
	Log   *slog.Logger
}

// reply is what a command answers: ephemeral unless InChannel.
type reply struct {
	Text      string
	Blocks    []slack.Block
	InChannel bool
}

type (
	commandHandler func(ctx context.Context, in commandInput) (*reply, error)
	actionHandler  func(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback, action *slack.BlockAction) error
	// viewHandler validates and saves a submission before the ack: it returns
	// the ack payload (nil closes the modal) and work to do after the ack.
	viewHandler  func(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (ack any, after func(context.Context))
	eventHandler func(ctx context.Context, log *slog.Logger, event slackevents.EventsAPIInnerEvent) error
)

// viewAckBudget bounds the work done before a view submission is acked,
// well inside Slack's 3 seconds.
const viewAckBudget = 2 * time.Second

// onSlashCommand runs an /okr command (already acked) and replies.
func (b *Bot) onSlashCommand(ctx context.Context, log *slog.Logger, sc slack.SlashCommand) {
	log = log.With(slog.String("user_id", sc.UserID), slog.String("channel_id", sc.ChannelID))
	cmd, err := ParseCommand(sc.Text)
	var r *reply
	if err == nil {
		log = log.With(slog.String("command", cmd.Path))
		switch h, ok := b.commands[cmd.Path]; {
		case cmd.Help:
			r = helpReply(cmd.Spec())
		case ok:
			r, err = h(ctx, commandInput{Cmd: cmd, Slash: sc, Log: log})
		default:
			r = &reply{Text: "`" + cmd.Spec().usage + "` is not built yet; it is coming in a later release. See `/okr help` for what works today."}
		}
	}
	if err != nil {
		r = errorReply(b.userMessage(log, err), err, cmd)
	}
	if r != nil {
		b.respond(ctx, log, sc.ResponseURL, r)
	}
}

// respond posts a reply to a slash command's response URL.
func (b *Bot) respond(ctx context.Context, log *slog.Logger, responseURL string, r *reply) {
	msg := &slack.WebhookMessage{Text: r.Text, ResponseType: slack.ResponseTypeEphemeral}
	if r.InChannel {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	if len(r.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, b.cfg.HTTPClient, msg); err != nil {
		log.Error("cannot reply to slash command", slog.String("error", redactError(err)))
	}
}

// onInteraction acks and handles block actions, view submissions and closes.
func (b *Bot) onInteraction(ctx context.Context, log *slog.Logger, c *conn, req *socketmode.Request, cb slack.InteractionCallback, arrived time.Time) {
	log = log.With(slog.String("user_id", cb.User.ID), slog.String("interaction", string(cb.Type)))
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		h, ok := b.views[cb.View.CallbackID]
		if !ok {
			b.ack(c, req, nil, arrived)
			log.Warn("submission of an unknown view", slog.String("callback_id", cb.View.CallbackID))
			return
		}
		acked := false
		defer func() {
			if !acked {
				b.gate.acked() // the handler panicked: the envelope is no longer pending
			}
		}()
		vctx, cancel := context.WithTimeout(ctx, viewAckBudget)
		ack, after := h(vctx, log.With(slog.String("callback_id", cb.View.CallbackID)), cb)
		cancel()
		acked = true
		b.ack(c, req, ack, arrived)
		if after != nil {
			b.spawn(ctx, b.followUps, req.EnvelopeID, func() { after(ctx) })
		}
	case slack.InteractionTypeBlockActions:
		if !b.firstTime(ctx, "envelope:"+req.EnvelopeID, log) {
			return
		}
		for i := range cb.ActionCallback.BlockActions {
			a := cb.ActionCallback.BlockActions[i]
			h, ok := b.actions[a.ActionID]
			if !ok {
				log.Warn("unknown action", slog.String("action_id", a.ActionID))
				continue
			}
			if err := h(ctx, log.With(slog.String("action_id", a.ActionID)), cb, a); err != nil {
				b.tellError(ctx, log, cb, err)
			}
		}
	}
}

// tellError shows a person what went wrong with a button they pressed.
func (b *Bot) tellError(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback, err error) {
	text := ":warning: " + b.userMessage(log, err)
	if cb.ResponseURL != "" {
		b.respond(ctx, log, cb.ResponseURL, &reply{Text: text})
		return
	}
	b.dm(ctx, log, cb.User.ID, text)
}

// dm sends a person a direct message.
func (b *Bot) dm(ctx context.Context, log *slog.Logger, userID, text string, blocks ...slack.Block) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if _, _, err := b.api.PostMessageContext(ctx, userID, opts...); err != nil {
		log.Error("cannot DM", slog.String("to", userID), slog.String("error", redactError(err)))
	}
}

// onEventsAPI handles an Events API event (already acked and deduplicated).
func (b *Bot) onEventsAPI(ctx context.Context, log *slog.Logger, e slackevents.EventsAPIEvent) {
	if e.Type != slackevents.CallbackEvent {
		return
	}
	h, ok := b.events[e.InnerEvent.Type]
	if !ok {
		log.Debug("event not handled", slog.String("event_type", e.InnerEvent.Type))
		return
	}
	if err := h(ctx, log.With(slog.String("event_type", e.InnerEvent.Type)), e.InnerEvent); err != nil {
		log.Error("event failed", slog.String("error", err.Error()))
	}
}

// privateMetadata is what a modal remembers of where it was opened.
type privateMetadata struct {
	ChannelID string `json:"c,omitempty"`
	TeamID    int64  `json:"t,omitempty"`
	// KRSlots is how many key results the new-objective modal asks for.
	KRSlots int `json:"k,omitempty"`
}

func (m privateMetadata) String() string {
	js, _ := json.Marshal(m)
	return string(js)
}

func parseMetadata(s string) privateMetadata {
	var m privateMetadata
	_ = json.Unmarshal([]byte(s), &m) // a bad value leaves the zero value
	return m
}
