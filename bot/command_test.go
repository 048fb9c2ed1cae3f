package bot_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/bot"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text  string
		path  string
		help  bool
		rest  string
		users []string
		ch    string
	}{
		{text: "", path: ""},
		{text: "   ", path: ""},
		{text: "help", path: "help"},
		{text: "HELP", path: "help"},
		{text: "list", path: "list"},
		{text: "list <@U123|alice>", path: "list", rest: "<@U123|alice>", users: []string{"U123"}},
		{text: "list <@W9>", path: "list", rest: "<@W9>", users: []string{"W9"}},
		{text: "list <#C42|platform>", path: "list", rest: "<#C42|platform>", ch: "C42"},
		{text: "list <#G7>", path: "list", rest: "<#G7>", ch: "G7"},
		{text: "new", path: "new"},
		{text: "new help", path: "new", help: true, rest: "help"},
		{text: "kr add", path: "kr add"},
		{text: "KR Add", path: "kr add"},
		{text: "checkin", path: "checkin"},
		{text: "checkin send", path: "checkin send"},
		{text: "team create Platform", path: "team create", rest: "Platform"},
		{text: "team create  Customer   Support ", path: "team create", rest: "Customer   Support"},
		{text: "team create help", path: "team create", help: true, rest: "help"},
		{text: "team add <@U1> <@U2|bob> <@U1>", path: "team add", rest: "<@U1> <@U2|bob> <@U1>", users: []string{"U1", "U2"}},
		{text: "team lead <@U3>", path: "team lead", rest: "<@U3>", users: []string{"U3"}},
		{text: "kpi record on-time 95%", path: "kpi record", rest: "on-time 95%"},
		{text: "summary 2027-Q1", path: "summary", rest: "2027-Q1"},
		{text: "export", path: "export"},
		{text: "Export 2027-q1", path: "export", rest: "2027-q1"},
		{text: "export help", path: "export", help: true, rest: "help"},
		{text: "away until 2027-01-05", path: "away", rest: "until 2027-01-05"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := bot.ParseCommand(tt.text)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.text, err)
			}
			if got.Path != tt.path || got.Help != tt.help || got.Rest != tt.rest || got.Channel != tt.ch {
				t.Errorf("got path %q help %v rest %q channel %q, want %q %v %q %q", got.Path, got.Help, got.Rest, got.Channel, tt.path, tt.help, tt.rest, tt.ch)
			}
			if !reflect.DeepEqual(got.Users, tt.users) {
				t.Errorf("got users %v, want %v", got.Users, tt.users)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		text        string
		problem     string // part of the problem
		usageHasAll bool   // the usage lists the whole grammar
		usage       string // part of the usage
	}{
		{text: "frobnicate", problem: "I don't know `/okr frobnicate`", usageHasAll: true},
		{text: "team", problem: "`/okr team` needs one of these", usage: "/okr team create NAME"},
		{text: "team remove <@U1>", problem: "`/okr team remove <@U1>` needs one of these", usage: "/okr team lead @user"},
		{text: "kr", problem: "needs one of these", usage: "/okr kr add"},
		{text: "kpi", problem: "needs one of these", usage: "/okr kpi record NAME VALUE [note]"},
		{text: "team create", problem: "Give it a name, e.g. `/okr team create Platform`", usage: "/okr team create NAME"},
		{text: "team add", problem: "Mention at least one person", usage: "/okr team add @user"},
		{text: "team add bob", problem: "“bob” is not a person", usage: "/okr team add @user"},
		{text: "team add <@U1> <#C1>", problem: "“<#C1>” is not a person", usage: "/okr team add"},
		{text: "list bob", problem: "“bob” is not a person or a channel", usage: "/okr list [@user|#channel]"},
		{text: "list <@U1> <@U2>", problem: "Name one person or one channel, not 2", usage: "/okr list"},
		{text: "list <!subteam^S1|devs>", problem: "is not a person or a channel", usage: "/okr list"},
		{text: "new now please", problem: "`/okr new` takes nothing after it, but got “now please”", usage: "/okr new"},
		{text: "help me", problem: "takes nothing after it", usage: "/okr help"},
		{text: "kpi record uptime", problem: "Give the KPI's name and a value", usage: "/okr kpi record"},
		{text: "summary 2027-Q1 2027-Q2", problem: "at most one period", usage: "/okr summary"},
		{text: "export 2027-Q1 2027-Q2", problem: "at most one period", usage: "/okr export [2027-Q1]"},
		{text: "away 2027-01-05", problem: "Say until when", usage: "/okr away until"},
		{text: "checkin send now", problem: "`/okr checkin send` takes nothing after it", usage: "/okr checkin send"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := bot.ParseCommand(tt.text)
			var ue *bot.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseCommand(%q) error = %v, want a *UsageError", tt.text, err)
			}
			if !strings.Contains(ue.Problem, tt.problem) {
				t.Errorf("got problem %q, want it to contain %q", ue.Problem, tt.problem)
			}
			if tt.usageHasAll && ue.Usage != bot.HelpUsage() {
				t.Errorf("got usage %q, want the whole grammar", ue.Usage)
			}
			if !strings.Contains(ue.Usage, tt.usage) {
				t.Errorf("got usage %q, want it to contain %q", ue.Usage, tt.usage)
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "team create A", "team add <@U1> <@U2|x>", "list <#C1|x>", "kpi record a 1", "away until 2027-01-05", "kr add", "\x00", "team  \t add"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := bot.ParseCommand(text)
		if err == nil && cmd.Help && len(cmd.Args) != 1 {
			t.Errorf("help with args %q", cmd.Args)
		}
	})
}
