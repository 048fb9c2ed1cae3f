package slackemu_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/slackemu"
)

func section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func pt(text string) map[string]any { return map[string]any{"type": "plain_text", "text": text} }

func button(actionID, label, value string) map[string]any {
	return map[string]any{"type": "button", "action_id": actionID, "text": pt(label), "value": value}
}

func option(value, label string) map[string]any {
	return map[string]any{"value": value, "text": pt(label)}
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestValidateBlocks(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		blocks []any
		want   string // substring of the first error; "" means valid
	}{
		{"ok", []any{section("hi"), map[string]any{"type": "divider"}}, ""},
		{"50 blocks", repeat(50, func(int) any { return section("x") }), ""},
		{"51 blocks", repeat(51, func(int) any { return section("x") }), "must be less than 51 items [json-pointer:/blocks]"},
		{"section text 3000", []any{section(long(3000))}, ""},
		{"section text 3001", []any{section(long(3001))}, "/blocks/0/text/text"},
		{"section without text", []any{map[string]any{"type": "section"}}, "either text or fields"},
		{"11 fields", []any{map[string]any{"type": "section", "fields": repeat(11, func(int) any { return pt("f") })}}, "/blocks/0/fields"},
		{"long field", []any{map[string]any{"type": "section", "fields": []any{pt(long(2001))}}}, "/blocks/0/fields/0/text"},
		{"header 150", []any{map[string]any{"type": "header", "text": pt(long(150))}}, ""},
		{"header 151", []any{map[string]any{"type": "header", "text": pt(long(151))}}, "/blocks/0/text/text"},
		{"mrkdwn header", []any{map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "h"}}}, "must be plain_text"},
		{"button text 76", []any{map[string]any{"type": "actions", "elements": []any{button("a", long(76), "v")}}}, "/blocks/0/elements/0/text/text"},
		{"button value 2001", []any{map[string]any{"type": "actions", "elements": []any{button("a", "ok", long(2001))}}}, "/blocks/0/elements/0/value"},
		{"duplicate action_id", []any{map[string]any{"type": "actions", "elements": []any{button("a", "1", ""), button("a", "2", "")}}}, "duplicate action_id"},
		{"26 actions", []any{map[string]any{"type": "actions", "elements": repeat(26, func(i int) any { return button(fmt.Sprint(i), "b", "") })}}, "less than 26 items"},
		{"long action_id", []any{map[string]any{"type": "actions", "elements": []any{button(long(256), "b", "")}}}, "/action_id"},
		{"duplicate block_id", []any{map[string]any{"type": "divider", "block_id": "x"}, map[string]any{"type": "divider", "block_id": "x"}}, "duplicate block_id"},
		{"long block_id", []any{map[string]any{"type": "divider", "block_id": long(256)}}, "/blocks/0/block_id"},
		{"11 context elements", []any{map[string]any{"type": "context", "elements": repeat(11, func(int) any { return pt("c") })}}, "less than 11 items"},
		{"unknown block", []any{map[string]any{"type": "carousel_of_doom"}}, "unknown block type"},
		{"input without label", []any{map[string]any{"type": "input", "element": map[string]any{"type": "plain_text_input"}}}, "/blocks/0/label"},
		{"input without element", []any{map[string]any{"type": "input", "label": pt("L")}}, "/blocks/0/element"},
		{"max_length 3001", []any{map[string]any{"type": "input", "label": pt("L"), "element": map[string]any{"type": "plain_text_input", "max_length": 3001}}}, "/max_length"},
		{"101 options", []any{map[string]any{"type": "input", "label": pt("L"), "element": map[string]any{"type": "static_select",
			"options": repeat(101, func(i int) any { return option(fmt.Sprint(i), "o") })}}}, "less than 101 items"},
		{"option text 76", []any{map[string]any{"type": "input", "label": pt("L"), "element": map[string]any{"type": "static_select",
			"options": []any{option("v", long(76))}}}}, "/options/0/text/text"},
		{"option value 151", []any{map[string]any{"type": "input", "label": pt("L"), "element": map[string]any{"type": "static_select",
			"options": []any{option(long(151), "o")}}}}, "/options/0/value"},
		{"image", []any{map[string]any{"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"}}, ""},
		{"rich_text", []any{map[string]any{"type": "rich_text", "elements": []any{}}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := slackemu.ValidateBlocks(mustJSON(t, tc.blocks), 50)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("got %v, want no errors", errs)
			case tc.want != "" && (len(errs) == 0 || !strings.Contains(errs[0], tc.want)):
				t.Errorf("got %v, want an error containing %q", errs, tc.want)
			}
		})
	}
}

func TestValidateView(t *testing.T) {
	input := map[string]any{"type": "input", "block_id": "b", "label": pt("L"), "element": map[string]any{"type": "plain_text_input", "action_id": "a"}}
	modal := func(mod func(v map[string]any)) map[string]any {
		v := map[string]any{"type": "modal", "title": pt("Title"), "submit": pt("Save"), "blocks": []any{input}}
		mod(v)
		return v
	}
	tests := []struct {
		name string
		view map[string]any
		want string
	}{
		{"ok", modal(func(map[string]any) {}), ""},
		{"title 24", modal(func(v map[string]any) { v["title"] = pt(strings.Repeat("t", 24)) }), ""},
		{"title 25", modal(func(v map[string]any) { v["title"] = pt(strings.Repeat("t", 25)) }), "/view/title/text"},
		{"mrkdwn title", modal(func(v map[string]any) { v["title"] = map[string]any{"type": "mrkdwn", "text": "T"} }), "/view/title/type"},
		{"no title", modal(func(v map[string]any) { delete(v, "title") }), "/view/title"},
		{"submit 25", modal(func(v map[string]any) { v["submit"] = pt(strings.Repeat("s", 25)) }), "/view/submit/text"},
		{"close 25", modal(func(v map[string]any) { v["close"] = pt(strings.Repeat("c", 25)) }), "/view/close/text"},
		{"inputs need submit", modal(func(v map[string]any) { delete(v, "submit") }), "submit is required"},
		{"private_metadata 3001", modal(func(v map[string]any) { v["private_metadata"] = strings.Repeat("m", 3001) }), "/view/private_metadata"},
		{"callback_id 256", modal(func(v map[string]any) { v["callback_id"] = strings.Repeat("c", 256) }), "/view/callback_id"},
		{"100 blocks", modal(func(v map[string]any) { v["blocks"] = repeat(100, func(int) any { return section("x") }) }), ""},
		{"101 blocks", modal(func(v map[string]any) { v["blocks"] = repeat(101, func(int) any { return section("x") }) }), "less than 101 items"},
		{"bad type", modal(func(v map[string]any) { v["type"] = "popup" }), "/view/type"},
		{"home", map[string]any{"type": "home", "blocks": []any{section("hi")}}, ""},
		{"too big", map[string]any{"type": "home", "blocks": repeat(90, func(int) any { return section(strings.Repeat("x", 2999)) })}, "250 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := slackemu.ValidateView(mustJSON(t, tc.view))
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("got %v, want no errors", errs)
			case tc.want != "" && (len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), tc.want)):
				t.Errorf("got %v, want an error containing %q", errs, tc.want)
			}
		})
	}
}

func TestRenderBlocks(t *testing.T) {
	blocks := []any{
		map[string]any{"type": "header", "text": pt("Q1 OKRs")},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*Ship v1*"},
			"fields": []any{pt("Owner: alice"), pt("50%")}, "accessory": button("open", "Open", "1")},
		map[string]any{"type": "divider"},
		map[string]any{"type": "context", "elements": []any{pt("Updated today"), pt("by bob")}},
		map[string]any{"type": "actions", "elements": []any{button("a", "Check in", ""), button("b", "Skip", "")}},
		map[string]any{"type": "input", "label": pt("Progress"), "element": map[string]any{"type": "plain_text_input"}},
	}
	got := slackemu.RenderBlocks(mustJSON(t, blocks))
	want := "*Q1 OKRs*\n*Ship v1*\n  Owner: alice\n  50%  [Open]\n────────────────────\n  Updated today · by bob\n[Check in] [Skip]\nProgress: ____"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
