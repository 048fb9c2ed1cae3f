package slackemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	triggerLifetime     = 3 * time.Second
	responseURLLifetime = 30 * time.Minute
	responseURLMaxUses  = 5
)

// trigger is a trigger_id handed to the app with an interaction.
type trigger struct {
	userID string
	issued time.Time
	used   bool
}

// responseURL is a response_url handed to the app with a slash command or a
// message interaction.
type responseURL struct {
	userID, channelID string
	origin            *MessageRef // the message a button was clicked in
	ephemeral         bool        // origin is ephemeral
	issued            time.Time
	uses              int
}

// newTriggerLocked issues a trigger_id for the user. s.mu must be held.
func (s *Server) newTriggerLocked(userID string) string {
	now := s.opts.Now()
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", now.Unix(), s.seq, randHex(16))
	s.triggers[id] = &trigger{userID: userID, issued: now}
	return id
}

// useTriggerLocked checks a trigger_id and marks it exchanged.
func (s *Server) useTriggerLocked(id string) (*trigger, error) {
	t, ok := s.triggers[id]
	switch {
	case id == "" || !ok:
		return nil, errCode("invalid_trigger_id")
	case t.used:
		return nil, errCode("exchanged_trigger_id")
	case s.opts.Now().Sub(t.issued) > triggerLifetime:
		return nil, errCode("expired_trigger_id")
	}
	return t, nil
}

func (s *Server) newResponseURLLocked(ru *responseURL) string {
	ru.issued = s.opts.Now()
	token := randHex(12)
	s.responseURLs[token] = ru
	return s.base + "/response/" + s.opts.TeamID + "/" + token
}

func (s *Server) userObjLocked(userID string) obj {
	name := userID
	if u, ok := s.users[userID]; ok {
		name = u.Name
	}
	return obj{"id": userID, "username": name, "name": name, "team_id": s.opts.TeamID}
}

func (s *Server) teamObj() obj { return obj{"id": s.opts.TeamID, "domain": "emu"} }

// SlashCommand sends a slash command typed by the user in a channel (or IM)
// and waits for the ack. A text or blocks ack payload is shown to the user as
// an ephemeral message (or posted in the channel with response_type in_channel).
func (s *Server) SlashCommand(ctx context.Context, userID, channelID, command, text string) (Ack, error) {
	s.mu.Lock()
	if _, ok := s.users[channelID]; ok { // a user ID means the IM with the bot
		channelID, _ = s.openIMLocked(channelID)
	}
	payload := obj{
		"token":                 "emu-verification-token",
		"team_id":               s.opts.TeamID,
		"team_domain":           "emu",
		"channel_id":            channelID,
		"channel_name":          s.channelNameLocked(channelID),
		"user_id":               userID,
		"user_name":             s.userObjLocked(userID)["name"],
		"command":               command,
		"text":                  text,
		"api_app_id":            s.opts.AppID,
		"is_enterprise_install": false,
		"response_url":          s.newResponseURLLocked(&responseURL{userID: userID, channelID: channelID}),
		"trigger_id":            s.newTriggerLocked(userID),
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: s.whereLocked(channelID), Kind: "command",
		Text: s.userNameLocked(userID) + " typed " + strings.TrimSpace(command+" "+text)})
	s.notifyLocked()
	s.mu.Unlock()

	ack, err := s.sendRequest(ctx, "slash_commands", payload)
	if err != nil {
		s.recordTimeout(userID, channelID, err)
		return ack, err
	}
	if len(ack.Payload) > 0 {
		var resp struct {
			Text         string          `json:"text"`
			Blocks       json.RawMessage `json:"blocks"`
			ResponseType string          `json:"response_type"`
		}
		if json.Unmarshal(ack.Payload, &resp) == nil && (resp.Text != "" || len(resp.Blocks) > 0) {
			if err := s.showResponse(userID, channelID, nil, false, resp.ResponseType, resp.Text, resp.Blocks, false); err != nil {
				return ack, err
			}
		}
	}
	return ack, nil
}

// recordTimeout notes in the transcript that the user saw Slack's timeout error.
func (s *Server) recordTimeout(userID, channelID string, err error) {
	if !strings.Contains(err.Error(), ErrAckTimeout.Error()) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	where := "ephemeral to " + s.userNameLocked(userID)
	if channelID != "" {
		where += " in " + s.whereLocked(channelID)
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: where, Kind: "error",
		Text: "(Slack) This app did not respond in time (operation_timeout)"})
	s.notifyLocked()
}

// showResponse shows a message the app sent through an ack or a response_url.
func (s *Server) showResponse(userID, channelID string, origin *MessageRef, originEphemeral bool,
	responseType, text string, blocks json.RawMessage, replaceOriginal bool) error {
	if len(blocks) > 0 && !isEmptyArray(blocks) {
		b, err := prepareBlocks(blocks, limitMessageBlocks)
		if err != nil {
			return err
		}
		blocks = b
	} else {
		blocks = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if replaceOriginal && origin != nil {
		var m *Message
		if originEphemeral {
			m = s.findEphemeralLocked(origin.Channel, origin.TS)
		} else {
			m = s.findMessageLocked(origin.Channel, origin.TS)
		}
		if m != nil {
			m.Text, m.Blocks, m.Edited, m.ViaResponseURL = text, blocks, true, true
			where := s.whereLocked(m.Channel)
			if m.Ephemeral {
				where = "ephemeral to " + s.userNameLocked(m.EphemeralTo) + " in " + where
			}
			s.recordLocked(where, "update", m)
			s.notifyLocked()
			return nil
		}
	}
	if responseType == "in_channel" {
		m := &Message{Channel: channelID, TS: s.newTSLocked(), User: s.opts.BotUserID, Text: text, Blocks: blocks, ViaResponseURL: true}
		s.addMessageLocked(m)
		s.recordLocked(s.whereLocked(channelID), "message", m)
		s.notifyLocked()
		return nil
	}
	s.addEphemeralLocked(channelID, userID, text, blocks, true)
	return nil
}

// handleResponseURL serves the response_url endpoint.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/response/"), "/")
	token := parts[len(parts)-1]
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(body), &msg); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"ok": false, "error": "invalid_payload"})
		return
	}
	s.mu.Lock()
	s.calls["response_url"]++
	ru, ok := s.responseURLs[token]
	var expired bool
	if ok {
		expired = ru.uses >= responseURLMaxUses || s.opts.Now().Sub(ru.issued) > responseURLLifetime
		if !expired {
			ru.uses++
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, obj{"ok": false, "error": "no_such_url"})
		return
	case expired:
		writeJSON(w, http.StatusNotFound, obj{"ok": false, "error": "used_url"})
		return
	}
	if msg.DeleteOriginal {
		s.mu.Lock()
		if ru.origin != nil {
			var m *Message
			if ru.ephemeral {
				m = s.findEphemeralLocked(ru.origin.Channel, ru.origin.TS)
			} else {
				m = s.findMessageLocked(ru.origin.Channel, ru.origin.TS)
			}
			if m != nil {
				s.deleteMessageLocked(m)
				s.addEntryLocked(Entry{Time: s.opts.Now(), Where: s.whereLocked(m.Channel), Kind: "delete",
					Text: "(message " + m.TS + " deleted)"})
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, obj{"ok": true})
		return
	}
	if msg.Text == "" && (len(msg.Blocks) == 0 || isEmptyArray(msg.Blocks)) {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "no_text"})
		return
	}
	if len([]rune(msg.Text)) > maxMessageText {
		msg.Text = string([]rune(msg.Text)[:maxMessageText])
	}
	if err := s.showResponse(ru.userID, ru.channelID, ru.origin, ru.ephemeral, msg.ResponseType, msg.Text, msg.Blocks, msg.ReplaceOriginal); err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, obj{"ok": true})
}

// ClickButton clicks the button with actionID in a message (a channel message or
// an ephemeral one the user sees) and waits for the ack. The block_actions
// payload carries the button's value and block_id from the stored blocks.
func (s *Server) ClickButton(ctx context.Context, userID string, where MessageRef, actionID string) (Ack, error) {
	return s.clickMessage(ctx, userID, where, actionID, nil)
}

// SelectOption picks the option with the given value in a static_select,
// radio_buttons, overflow or similar element of a message and waits for the ack.
func (s *Server) SelectOption(ctx context.Context, userID string, where MessageRef, actionID, value string) (Ack, error) {
	return s.clickMessage(ctx, userID, where, actionID, &value)
}

func (s *Server) clickMessage(ctx context.Context, userID string, where MessageRef, actionID string, value *string) (Ack, error) {
	s.mu.Lock()
	m := s.findMessageLocked(where.Channel, where.TS)
	ephemeral := false
	if m == nil || m.Deleted {
		m = s.findEphemeralLocked(where.Channel, where.TS)
		ephemeral = true
		if m != nil && m.EphemeralTo != userID {
			m = nil
		}
	}
	if m == nil || m.Deleted {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("slackemu: no message %s/%s visible to %s", where.Channel, where.TS, userID)
	}
	action, err := s.actionFor(m.Blocks, "", actionID, value)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	ref := m.Ref()
	payload := obj{
		"type":       "block_actions",
		"user":       s.userObjLocked(userID),
		"api_app_id": s.opts.AppID,
		"token":      "emu-verification-token",
		"container": obj{"type": "message", "message_ts": m.TS, "channel_id": m.Channel,
			"is_ephemeral": ephemeral},
		"trigger_id":            s.newTriggerLocked(userID),
		"team":                  s.teamObj(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               obj{"id": m.Channel, "name": s.channelNameLocked(m.Channel)},
		"state":                 obj{"values": obj{}},
		"response_url":          s.newResponseURLLocked(&responseURL{userID: userID, channelID: m.Channel, origin: &ref, ephemeral: ephemeral}),
		"actions":               []obj{action},
	}
	if !ephemeral {
		payload["message"] = s.messageJSON(m)
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: s.whereLocked(m.Channel), Kind: "click",
		Text: s.userNameLocked(userID) + " clicked " + actionLabel(action)})
	s.notifyLocked()
	s.mu.Unlock()
	ack, err := s.sendRequest(ctx, "interactive", payload)
	if err != nil {
		s.recordTimeout(userID, where.Channel, err)
	}
	return ack, err
}

func actionLabel(a obj) string {
	if t, ok := a["text"].(map[string]any); ok {
		return "[" + str(t, "text") + "]"
	}
	if o, ok := a["selected_option"].(map[string]any); ok {
		if t, ok := o["text"].(map[string]any); ok {
			return "[" + str(t, "text") + "] in " + str(a, "action_id")
		}
	}
	return "[" + str(a, "action_id") + "]"
}

// actionFor builds the actions[] entry for clicking actionID in blocks, in
// the block blockID ("" for any). Blocks may repeat an action_id (Slack
// wants it unique within a block only): a click takes the first element
// that fits, and a selection the first whose options hold the value.
func (s *Server) actionFor(blocks json.RawMessage, blockID, actionID string, value *string) (obj, error) {
	var bs []map[string]any
	if len(blocks) > 0 {
		if err := json.Unmarshal(blocks, &bs); err != nil {
			return nil, fmt.Errorf("slackemu: stored blocks: %w", err)
		}
	}
	var missing error
	for _, b := range bs {
		if blockID != "" && str(b, "block_id") != blockID {
			continue
		}
		for _, el := range interactiveElements(b) {
			if str(el, "action_id") != actionID {
				continue
			}
			typ := str(el, "type")
			a := obj{"action_id": actionID, "block_id": str(b, "block_id"), "type": typ,
				"action_ts": fmt.Sprintf("%d.%06d", s.opts.Now().Unix(), s.opts.Now().Nanosecond()/1000)}
			if value == nil {
				if typ != "button" {
					return nil, fmt.Errorf("slackemu: element %q is a %s, not a button", actionID, typ)
				}
				a["text"] = el["text"]
				a["value"] = str(el, "value")
				if st := str(el, "style"); st != "" {
					a["style"] = st
				}
				return a, nil
			}
			switch typ {
			case "users_select":
				a["selected_user"] = *value
			case "conversations_select":
				a["selected_conversation"] = *value
			case "channels_select":
				a["selected_channel"] = *value
			case "datepicker":
				a["selected_date"] = *value
			default:
				opt := findOption(el, *value)
				if opt == nil {
					missing = fmt.Errorf("slackemu: element %q has no option %q", actionID, *value)
					continue
				}
				a["selected_option"] = opt
			}
			return a, nil
		}
	}
	if missing != nil {
		return nil, missing
	}
	if blockID != "" {
		return nil, fmt.Errorf("slackemu: no interactive element with action_id %q in block %q", actionID, blockID)
	}
	return nil, fmt.Errorf("slackemu: no interactive element with action_id %q", actionID)
}

// interactiveElements returns a block's elements that can carry an action_id.
func interactiveElements(b map[string]any) []map[string]any {
	var out []map[string]any
	switch str(b, "type") {
	case "actions":
		for _, e := range arr(b, "elements") {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case "section":
		if m, ok := b["accessory"].(map[string]any); ok {
			out = append(out, m)
		}
	case "input":
		if m, ok := b["element"].(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// findOption finds an option by value in an element's options or option_groups.
func findOption(el map[string]any, value string) map[string]any {
	var opts []any
	opts = append(opts, arr(el, "options")...)
	for _, g := range arr(el, "option_groups") {
		if gm, ok := g.(map[string]any); ok {
			opts = append(opts, arr(gm, "options")...)
		}
	}
	for _, o := range opts {
		if om, ok := o.(map[string]any); ok && str(om, "value") == value {
			return om
		}
	}
	return nil
}

// OpenHome sends app_home_opened for the user (tab "home") and waits for the ack.
func (s *Server) OpenHome(ctx context.Context, userID string) (Ack, error) {
	s.mu.Lock()
	im, _ := s.openIMLocked(userID)
	event := map[string]any{"type": "app_home_opened", "user": userID, "channel": im, "tab": "home"}
	if id, ok := s.homes[userID]; ok {
		event["view"] = s.views[id].obj
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: "home of " + s.userNameLocked(userID), Kind: "open",
		Text: s.userNameLocked(userID) + " opened the Home tab"})
	s.notifyLocked()
	b, err := json.Marshal(event)
	s.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	var ev map[string]any
	_ = json.Unmarshal(b, &ev) // detach from the stored view
	return s.SendEvent(ctx, ev)
}

// str, arr and objAt read generic JSON values.
func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

func arr(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

func objAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}
