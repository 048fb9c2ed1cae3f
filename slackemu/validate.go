package slackemu

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces.
const (
	limitMessageBlocks   = 50
	limitViewBlocks      = 100
	maxMessageText       = 40000
	maxSectionText       = 3000
	maxHeaderText        = 150
	maxButtonText        = 75
	maxButtonValue       = 2000
	maxID                = 255
	maxFields            = 10
	maxFieldText         = 2000
	maxContextElements   = 10
	maxActionsElements   = 25
	maxViewTitle         = 24
	maxPrivateMetadata   = 3000
	maxInputMaxLength    = 3000
	maxSelectOptions     = 100
	maxOptionText        = 75
	maxOptionValue       = 150
	maxInputLabel        = 2000
	maxViewBytes         = 250 * 1000
	maxImageAltText      = 2000
	maxPlaceholderLength = 150
)

// knownBlocks are the block types the emulator accepts.
var knownBlocks = map[string]bool{
	"section": true, "header": true, "divider": true, "context": true, "actions": true,
	"input": true, "image": true, "rich_text": true, "markdown": true, "file": true,
}

// prepareBlocks validates a message's blocks and gives blocks without a
// block_id one, as Slack does.
func prepareBlocks(raw json.RawMessage, maxBlocks int) (json.RawMessage, error) {
	if errs := ValidateBlocks(raw, maxBlocks); len(errs) > 0 {
		return nil, &apiError{code: "invalid_blocks", errors: errs}
	}
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, &apiError{code: "invalid_blocks_format"}
	}
	fillBlockIDs(blocks)
	return json.Marshal(blocks)
}

// fillBlockIDs gives blocks and interactive elements lacking IDs random ones.
func fillBlockIDs(blocks []any) {
	for _, b := range blocks {
		bm, ok := b.(map[string]any)
		if !ok {
			continue
		}
		if str(bm, "block_id") == "" {
			bm["block_id"] = randHex(3)
		}
		for _, el := range interactiveElements(bm) {
			if str(el, "action_id") == "" && str(el, "type") != "image" {
				el["action_id"] = randHex(3)
			}
		}
	}
}

// validator collects errors in Slack's "message [json-pointer:/path]" form.
type validator struct{ errs []string }

func (v *validator) addf(ptr, format string, args ...any) {
	v.errs = append(v.errs, fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// ValidateBlocks checks a message's blocks array against Slack's Block Kit
// limits (at most maxBlocks blocks) and returns Slack-style error strings.
func ValidateBlocks(raw json.RawMessage, maxBlocks int) []string {
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"blocks must be an array [json-pointer:/blocks]"}
	}
	v := &validator{}
	v.blocks("/blocks", blocks, maxBlocks)
	return v.errs
}

// ValidateView checks a modal or Home tab view object against Slack's limits
// and returns Slack-style error strings.
func ValidateView(raw json.RawMessage) []string {
	v := &validator{}
	if len(raw) >= maxViewBytes {
		v.addf("/view", "view must be smaller than 250 KB")
	}
	var view map[string]any
	if err := json.Unmarshal(raw, &view); err != nil || view == nil {
		return []string{"view must be an object [json-pointer:/view]"}
	}
	typ := str(view, "type")
	switch typ {
	case "modal":
		title := objAt(view, "title")
		if title == nil {
			v.addf("/view/title", "missing required field: title")
		} else {
			v.plainText("/view/title", title, maxViewTitle)
		}
		for _, k := range []string{"submit", "close"} {
			if t := objAt(view, k); t != nil {
				v.plainText("/view/"+k, t, maxViewTitle)
			}
		}
		if objAt(view, "submit") == nil {
			for _, b := range arr(view, "blocks") {
				if bm, ok := b.(map[string]any); ok && str(bm, "type") == "input" {
					v.addf("/view/submit", "submit is required when an input block is present")
					break
				}
			}
		}
	case "home":
	default:
		v.addf("/view/type", "must be one of modal, home")
	}
	if runes(str(view, "private_metadata")) > maxPrivateMetadata {
		v.addf("/view/private_metadata", "must be less than %d characters", maxPrivateMetadata+1)
	}
	if runes(str(view, "callback_id")) > maxID {
		v.addf("/view/callback_id", "must be less than %d characters", maxID+1)
	}
	blocks, ok := view["blocks"].([]any)
	if !ok {
		v.addf("/view/blocks", "missing required field: blocks")
	}
	v.blocks("/view/blocks", blocks, limitViewBlocks)
	return v.errs
}

// textObject checks a text object; kind "" accepts plain_text and mrkdwn.
func (v *validator) textObject(ptr string, t map[string]any, max int, kind string) {
	typ := str(t, "type")
	if typ != "plain_text" && typ != "mrkdwn" {
		v.addf(ptr+"/type", "must be one of plain_text, mrkdwn")
		return
	}
	if kind != "" && typ != kind {
		v.addf(ptr+"/type", "must be %s", kind)
	}
	text, ok := t["text"].(string)
	if !ok || text == "" {
		v.addf(ptr+"/text", "must be more than 0 characters")
		return
	}
	if runes(text) > max {
		v.addf(ptr+"/text", "must be less than %d characters", max+1)
	}
}

func (v *validator) plainText(ptr string, t map[string]any, max int) {
	v.textObject(ptr, t, max, "plain_text")
}

func (v *validator) blocks(ptr string, blocks []any, maxBlocks int) {
	if len(blocks) > maxBlocks {
		v.addf(ptr, "must be less than %d items", maxBlocks+1)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		p := fmt.Sprintf("%s/%d", ptr, i)
		bm, ok := b.(map[string]any)
		if !ok {
			v.addf(p, "block must be an object")
			continue
		}
		if id := str(bm, "block_id"); id != "" {
			if runes(id) > maxID {
				v.addf(p+"/block_id", "must be less than %d characters", maxID+1)
			}
			if ids[id] {
				v.addf(p+"/block_id", "duplicate block_id %q", id)
			}
			ids[id] = true
		}
		v.block(p, bm)
	}
}

func (v *validator) block(p string, b map[string]any) {
	typ := str(b, "type")
	if !knownBlocks[typ] {
		v.addf(p+"/type", "unknown block type %q", typ)
		return
	}
	switch typ {
	case "section":
		text := objAt(b, "text")
		fields := arr(b, "fields")
		if text == nil && len(fields) == 0 {
			v.addf(p, "must provide either text or fields")
		}
		if text != nil {
			v.textObject(p+"/text", text, maxSectionText, "")
		}
		if len(fields) > maxFields {
			v.addf(p+"/fields", "must be less than %d items", maxFields+1)
		}
		for i, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				v.textObject(fmt.Sprintf("%s/fields/%d", p, i), fm, maxFieldText, "")
			} else {
				v.addf(fmt.Sprintf("%s/fields/%d", p, i), "must be a text object")
			}
		}
		if acc := objAt(b, "accessory"); acc != nil {
			v.element(p+"/accessory", acc)
		}
	case "header":
		t := objAt(b, "text")
		if t == nil {
			v.addf(p+"/text", "missing required field: text")
		} else {
			v.plainText(p+"/text", t, maxHeaderText)
		}
	case "context":
		els := arr(b, "elements")
		if len(els) == 0 {
			v.addf(p+"/elements", "must provide at least 1 item")
		}
		if len(els) > maxContextElements {
			v.addf(p+"/elements", "must be less than %d items", maxContextElements+1)
		}
		for i, e := range els {
			em, _ := e.(map[string]any)
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			switch str(em, "type") {
			case "plain_text", "mrkdwn":
				v.textObject(ep, em, maxSectionText, "")
			case "image":
				if str(em, "alt_text") == "" {
					v.addf(ep+"/alt_text", "missing required field: alt_text")
				}
			default:
				v.addf(ep+"/type", "must be one of image, plain_text, mrkdwn")
			}
		}
	case "actions":
		els := arr(b, "elements")
		if len(els) == 0 {
			v.addf(p+"/elements", "must provide at least 1 item")
		}
		if len(els) > maxActionsElements {
			v.addf(p+"/elements", "must be less than %d items", maxActionsElements+1)
		}
		seen := map[string]bool{}
		for i, e := range els {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			em, ok := e.(map[string]any)
			if !ok {
				v.addf(ep, "element must be an object")
				continue
			}
			if id := str(em, "action_id"); id != "" {
				if seen[id] {
					v.addf(ep+"/action_id", "duplicate action_id %q", id)
				}
				seen[id] = true
			}
			v.element(ep, em)
		}
	case "input":
		label := objAt(b, "label")
		if label == nil {
			v.addf(p+"/label", "missing required field: label")
		} else {
			v.plainText(p+"/label", label, maxInputLabel)
		}
		el := objAt(b, "element")
		if el == nil {
			v.addf(p+"/element", "missing required field: element")
		} else {
			v.element(p+"/element", el)
		}
		if h := objAt(b, "hint"); h != nil {
			v.plainText(p+"/hint", h, maxInputLabel)
		}
	case "image":
		if str(b, "image_url") == "" && objAt(b, "slack_file") == nil {
			v.addf(p+"/image_url", "missing required field: image_url")
		}
		if a := str(b, "alt_text"); a == "" || runes(a) > maxImageAltText {
			v.addf(p+"/alt_text", "must be 1 to %d characters", maxImageAltText)
		}
	case "rich_text":
		if _, ok := b["elements"].([]any); !ok {
			v.addf(p+"/elements", "missing required field: elements")
		}
	case "markdown":
		if t, ok := b["text"].(string); !ok || t == "" {
			v.addf(p+"/text", "missing required field: text")
		}
	}
}

// elementTypes are the block elements the emulator knows.
var elementTypes = map[string]bool{
	"button": true, "static_select": true, "external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true, "multi_static_select": true,
	"multi_external_select": true, "multi_users_select": true, "multi_conversations_select": true,
	"multi_channels_select": true, "overflow": true, "datepicker": true, "timepicker": true,
	"datetimepicker": true, "checkboxes": true, "radio_buttons": true, "plain_text_input": true,
	"number_input": true, "email_text_input": true, "url_text_input": true, "image": true,
	"rich_text_input": true, "file_input": true, "workflow_button": true,
}

func (v *validator) element(p string, e map[string]any) {
	typ := str(e, "type")
	if !elementTypes[typ] {
		v.addf(p+"/type", "unknown element type %q", typ)
		return
	}
	if id := str(e, "action_id"); runes(id) > maxID {
		v.addf(p+"/action_id", "must be less than %d characters", maxID+1)
	}
	if ph := objAt(e, "placeholder"); ph != nil {
		v.plainText(p+"/placeholder", ph, maxPlaceholderLength)
	}
	switch typ {
	case "button":
		t := objAt(e, "text")
		if t == nil {
			v.addf(p+"/text", "missing required field: text")
		} else {
			v.plainText(p+"/text", t, maxButtonText)
		}
		if runes(str(e, "value")) > maxButtonValue {
			v.addf(p+"/value", "must be less than %d characters", maxButtonValue+1)
		}
		if st := str(e, "style"); st != "" && st != "primary" && st != "danger" {
			v.addf(p+"/style", "must be one of primary, danger")
		}
	case "static_select", "multi_static_select", "overflow", "checkboxes", "radio_buttons":
		opts := arr(e, "options")
		groups := arr(e, "option_groups")
		if len(opts) == 0 && len(groups) == 0 {
			v.addf(p+"/options", "must provide at least 1 item")
		}
		if len(opts) > maxSelectOptions {
			v.addf(p+"/options", "must be less than %d items", maxSelectOptions+1)
		}
		v.options(p+"/options", opts)
		for i, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				v.options(fmt.Sprintf("%s/option_groups/%d/options", p, i), arr(gm, "options"))
			}
		}
	case "plain_text_input":
		if ml, ok := e["max_length"].(float64); ok && ml > maxInputMaxLength {
			v.addf(p+"/max_length", "must be less than or equal to %d", maxInputMaxLength)
		}
		if mn, ok := e["min_length"].(float64); ok && mn > maxInputMaxLength {
			v.addf(p+"/min_length", "must be less than or equal to %d", maxInputMaxLength)
		}
		if iv := str(e, "initial_value"); runes(iv) > maxInputMaxLength {
			v.addf(p+"/initial_value", "must be less than %d characters", maxInputMaxLength+1)
		}
	case "number_input":
		if _, ok := e["is_decimal_allowed"].(bool); !ok {
			v.addf(p+"/is_decimal_allowed", "missing required field: is_decimal_allowed")
		}
	}
}

func (v *validator) options(p string, opts []any) {
	for i, o := range opts {
		op := fmt.Sprintf("%s/%d", p, i)
		om, ok := o.(map[string]any)
		if !ok {
			v.addf(op, "option must be an object")
			continue
		}
		t := objAt(om, "text")
		if t == nil {
			v.addf(op+"/text", "missing required field: text")
		} else {
			v.textObject(op+"/text", t, maxOptionText, "")
		}
		val := str(om, "value")
		if runes(val) > maxOptionValue {
			v.addf(op+"/value", "must be less than %d characters", maxOptionValue+1)
		}
	}
}
