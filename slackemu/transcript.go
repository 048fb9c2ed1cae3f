package slackemu

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Entry is one visible thing in the transcript.
type Entry struct {
	Time time.Time
	// Where names the place: "#general", "DM @alice", "ephemeral to @alice in
	// #general", "modal for @alice", "home of @alice".
	Where string
	// Kind is what happened: message, update, delete, ephemeral, file, command,
	// click, submit, errors, open, push, publish, close, error.
	Kind string
	// Text is a human readable rendering of the text and blocks.
	Text string
}

// entryRec is a transcript entry as stored. A message's text is rendered lazily,
// on the first Transcript call after it was recorded, so recording is cheap.
type entryRec struct {
	Entry
	lazy             bool
	text, threadNote string
	blocks           json.RawMessage
}

// Transcript returns everything every user and channel saw, in order. Mentions
// in messages are turned into names when first rendered here.
func (s *Server) Transcript() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, len(s.transcript))
	for i := range s.transcript {
		r := &s.transcript[i]
		if r.lazy {
			text := renderMessage(r.text, r.blocks)
			if r.threadNote != "" {
				text = "(in thread " + r.threadNote + ")\n" + text
			}
			r.Text = s.humanizeLocked(text)
			r.lazy, r.text, r.threadNote, r.blocks = false, "", "", nil
		}
		out[i] = r.Entry
	}
	return out
}

// addEntryLocked adds an entry to the transcript. s.mu must be held.
func (s *Server) addEntryLocked(e Entry) {
	if s.opts.NoTranscript {
		return
	}
	s.transcript = append(s.transcript, entryRec{Entry: e})
}

// WriteTranscript writes the transcript as plain text, for the demo.
func (s *Server) WriteTranscript(w io.Writer) {
	var day string
	for _, e := range s.Transcript() {
		if d := e.Time.Format("Monday, Jan 2, 2006 (MST)"); d != day {
			day = d
			fmt.Fprintf(w, "── %s ──\n\n", d)
		}
		fmt.Fprintf(w, "%s  %s  (%s)\n", e.Time.Format("15:04:05"), e.Where, e.Kind)
		for _, line := range strings.Split(strings.TrimRight(e.Text, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintln(w)
	}
}

// recordLocked adds a message to the transcript. s.mu must be held.
// It keeps the message's current text and blocks (never modified in place) and
// renders them later.
func (s *Server) recordLocked(where, kind string, m *Message) {
	if s.opts.NoTranscript {
		return
	}
	r := entryRec{Entry: Entry{Time: s.opts.Now(), Where: where, Kind: kind}, lazy: true, text: m.Text, blocks: m.Blocks}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		r.threadNote = m.ThreadTS
	}
	s.transcript = append(s.transcript, r)
}

func renderMessage(text string, blocks json.RawMessage) string {
	if len(blocks) > 0 && !isEmptyArray(blocks) {
		return RenderBlocks(blocks)
	}
	return text
}

var (
	mentionRe = regexp.MustCompile(`<([@#!])([^>|]+)(?:\|([^>]*))?>`)
	linkRe    = regexp.MustCompile(`<(https?://[^>|]+)(?:\|([^>]*))?>`)
)

// humanizeLocked turns Slack's mention syntax into names: <@U1> → @alice,
// <#C1|general> → #general, <!here> → @here, <url|label> → label (url).
func (s *Server) humanizeLocked(text string) string {
	text = linkRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := linkRe.FindStringSubmatch(m)
		if sub[2] == "" {
			return sub[1]
		}
		return sub[2] + " (" + sub[1] + ")"
	})
	return mentionRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := mentionRe.FindStringSubmatch(m)
		switch sub[1] {
		case "@":
			return s.userNameLocked(sub[2])
		case "#":
			if sub[3] != "" {
				return "#" + sub[3]
			}
			if c, ok := s.channels[sub[2]]; ok {
				return "#" + c.Name
			}
			return "#" + sub[2]
		default:
			if sub[3] != "" {
				return sub[3]
			}
			return "@" + strings.SplitN(sub[2], "^", 2)[0]
		}
	})
}

// RenderBlocks renders a Block Kit blocks array as readable plain text: headers
// as *Header*, sections with their fields, context lines, buttons as [Label],
// inputs as "Label: ____". mrkdwn is kept as is.
func RenderBlocks(blocks json.RawMessage) string {
	var bs []any
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return "(unreadable blocks)"
	}
	return renderBlockList(bs)
}

func renderBlockList(bs []any) string {
	var lines []string
	for _, b := range bs {
		bm, ok := b.(map[string]any)
		if !ok {
			continue
		}
		if r := renderBlock(bm); r != "" {
			lines = append(lines, r)
		}
	}
	return strings.Join(lines, "\n")
}

func textOf(t map[string]any) string {
	if t == nil {
		return ""
	}
	return str(t, "text")
}

func renderBlock(b map[string]any) string {
	switch str(b, "type") {
	case "header":
		return "*" + textOf(objAt(b, "text")) + "*"
	case "divider":
		return "────────────────────"
	case "section":
		var parts []string
		if t := textOf(objAt(b, "text")); t != "" {
			parts = append(parts, t)
		}
		for _, f := range arr(b, "fields") {
			if fm, ok := f.(map[string]any); ok {
				parts = append(parts, "  "+strings.ReplaceAll(textOf(fm), "\n", "  "))
			}
		}
		out := strings.Join(parts, "\n")
		if acc := objAt(b, "accessory"); acc != nil {
			out += "  " + renderElement(acc)
		}
		return out
	case "context":
		var parts []string
		for _, e := range arr(b, "elements") {
			em, _ := e.(map[string]any)
			if str(em, "type") == "image" {
				parts = append(parts, "["+str(em, "alt_text")+"]")
			} else {
				parts = append(parts, textOf(em))
			}
		}
		return "  " + strings.Join(parts, " · ")
	case "actions":
		var parts []string
		for _, e := range arr(b, "elements") {
			if em, ok := e.(map[string]any); ok {
				parts = append(parts, renderElement(em))
			}
		}
		return strings.Join(parts, " ")
	case "input":
		label := textOf(objAt(b, "label"))
		if opt, _ := b["optional"].(bool); opt {
			label += " (optional)"
		}
		out := label + ": " + renderInput(objAt(b, "element"))
		if h := textOf(objAt(b, "hint")); h != "" {
			out += "\n  " + h
		}
		return out
	case "image":
		return "[image: " + str(b, "alt_text") + "]"
	case "rich_text":
		var sb strings.Builder
		renderRichText(&sb, arr(b, "elements"))
		return sb.String()
	case "markdown":
		return str(b, "text")
	default:
		return "[" + str(b, "type") + "]"
	}
}

func renderRichText(sb *strings.Builder, elements []any) {
	for _, e := range elements {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		switch str(em, "type") {
		case "text":
			sb.WriteString(str(em, "text"))
		case "link":
			if t := str(em, "text"); t != "" {
				sb.WriteString(t)
			} else {
				sb.WriteString(str(em, "url"))
			}
		case "user":
			sb.WriteString("<@" + str(em, "user_id") + ">")
		case "channel":
			sb.WriteString("<#" + str(em, "channel_id") + ">")
		case "emoji":
			sb.WriteString(":" + str(em, "name") + ":")
		case "rich_text_list":
			for _, item := range arr(em, "elements") {
				sb.WriteString("• ")
				if im, ok := item.(map[string]any); ok {
					renderRichText(sb, arr(im, "elements"))
				}
				sb.WriteString("\n")
			}
		default:
			renderRichText(sb, arr(em, "elements"))
			if str(em, "type") == "rich_text_section" || str(em, "type") == "rich_text_preformatted" || str(em, "type") == "rich_text_quote" {
				sb.WriteString("\n")
			}
		}
	}
}

func renderElement(e map[string]any) string {
	switch str(e, "type") {
	case "button":
		return "[" + textOf(objAt(e, "text")) + "]"
	case "overflow":
		return "[…]"
	case "image":
		return "[image: " + str(e, "alt_text") + "]"
	case "datepicker":
		if d := str(e, "initial_date"); d != "" {
			return "[" + d + " ▾]"
		}
		return "[" + placeholder(e, "Select a date") + " ▾]"
	default:
		if o := objAt(e, "initial_option"); o != nil {
			return "[" + textOf(objAt(o, "text")) + " ▾]"
		}
		return "[" + placeholder(e, "Select") + " ▾]"
	}
}

func placeholder(e map[string]any, def string) string {
	if p := textOf(objAt(e, "placeholder")); p != "" {
		return p
	}
	return def
}

func renderInput(e map[string]any) string {
	switch str(e, "type") {
	case "plain_text_input", "number_input", "email_text_input", "url_text_input":
		if v := str(e, "initial_value"); v != "" {
			return "[" + v + "]"
		}
		if p := textOf(objAt(e, "placeholder")); p != "" {
			return "____ (" + p + ")"
		}
		return "____"
	case "radio_buttons", "checkboxes":
		var opts []string
		initial := str(objAt(e, "initial_option"), "value")
		for _, o := range arr(e, "options") {
			om, _ := o.(map[string]any)
			mark := "( )"
			if initial != "" && str(om, "value") == initial {
				mark = "(•)"
			}
			opts = append(opts, mark+" "+textOf(objAt(om, "text")))
		}
		return strings.Join(opts, "  ")
	case "users_select":
		if u := str(e, "initial_user"); u != "" {
			return "[<@" + u + "> ▾]"
		}
	case "conversations_select", "channels_select":
		c := str(e, "initial_conversation")
		if c == "" {
			c = str(e, "initial_channel")
		}
		if c != "" {
			return "[<#" + c + "> ▾]"
		}
	}
	return renderElement(e)
}

// renderView renders a modal or Home tab with its title and buttons.
func renderView(v map[string]any) string {
	var sb strings.Builder
	if t := textOf(objAt(v, "title")); t != "" {
		sb.WriteString("« " + t + " »\n")
	}
	sb.WriteString(renderBlockList(arr(v, "blocks")))
	var buttons []string
	if c := textOf(objAt(v, "close")); c != "" {
		buttons = append(buttons, "["+c+"]")
	} else if str(v, "type") == "modal" {
		buttons = append(buttons, "[Cancel]")
	}
	if sub := textOf(objAt(v, "submit")); sub != "" {
		buttons = append(buttons, "["+sub+"]")
	}
	if len(buttons) > 0 {
		sb.WriteString("\n" + strings.Join(buttons, " "))
	}
	return sb.String()
}
