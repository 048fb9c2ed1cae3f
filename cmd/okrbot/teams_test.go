package main

import (
	"testing"

	"github.com/okrbot/okrbot/slackemu"
)

func TestTeamCommands(t *testing.T) {
	h := mustStart(t, slackemu.Options{})
	h.emu.AddUser(slackemu.User{ID: "U0GONE", Name: "gone", Deleted: true})
	h.emu.AddUser(slackemu.User{ID: "U0ADMIN", Name: "admin", IsAdmin: true})
	h.emu.AddChannel(slackemu.Channel{ID: "C0OTHER", Name: "other", Members: []string{alice, bob}})

	t.Run("create", func(t *testing.T) {
		got := h.slash(t, alice, "team create Platform")
		mustContain(t, got, "<@U0ALICE> created the team *Platform*", "first lead")
		msgs := h.emu.Messages(demoChannel)
		if len(msgs) == 0 || msgs[len(msgs)-1].Ephemeral {
			t.Errorf("team creation was not announced in the channel")
		}
	})
	t.Run("create again in the same channel", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "team create Infra"), ":warning:", "already has a team", "Platform")
	})
	t.Run("create with a taken name", func(t *testing.T) {
		m, err := h.p.slash(t.Context(), bob, "C0OTHER", "team create platform")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, ":warning:", "Platform")
	})
	t.Run("create without a name", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "team create"), "Give it a name", "Usage")
	})
	t.Run("create with a long name", func(t *testing.T) {
		m, err := h.p.slash(t.Context(), bob, "C0OTHER", "team create "+longName(81))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "at most 80 characters", "Usage")
	})
	t.Run("create in a DM", func(t *testing.T) {
		m, err := h.p.slash(t.Context(), bob, "D0BOB", "team create Solo")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "not in a DM")
	})
	t.Run("add members", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add <@U0BOB|bob> <@U0CHEN>"), "Added <@U0BOB> and <@U0CHEN> to *Platform*")
	})
	t.Run("add someone already in", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add <@U0BOB>"), "<@U0BOB> is already in *Platform*")
	})
	t.Run("member may not add", func(t *testing.T) {
		mustContain(t, h.slash(t, bob, "team add <@U0DANA>"), "Only a lead of *Platform* can add people to it", "Ask <@U0ALICE>")
	})
	t.Run("add a bot", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add <@UBOT>"), "is a bot")
	})
	t.Run("add a deactivated person", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add <@U0GONE>"), "<@U0GONE> is deactivated")
	})
	t.Run("add an unknown person", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add <@U0NOBODY>"), "I can't find <@U0NOBODY>")
	})
	t.Run("add without mentions", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add dana"), "“dana” is not a person", "Usage")
	})
	t.Run("add in a channel without a team", func(t *testing.T) {
		m, err := h.p.slash(t.Context(), alice, "C0OTHER", "team add <@U0BOB>")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "This channel has no team yet")
	})
	t.Run("lead", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team lead <@U0BOB>"), "<@U0BOB> is now a lead of *Platform*")
		mustContain(t, h.slash(t, bob, "team add <@U0DANA>"), "Added <@U0DANA> to *Platform*")
		mustContain(t, h.slash(t, bob, "team add <@U0ALICE>"), "<@U0ALICE> is already in *Platform*")
	})
	t.Run("workspace admin acts as lead", func(t *testing.T) {
		h.emu.AddChannel(slackemu.Channel{ID: "C0PLAT2", Name: "plat2", Members: []string{"U0ADMIN", chen}})
		m, err := h.p.slash(t.Context(), chen, "C0PLAT2", "team create Data")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "created the team *Data*")
		m, err = h.p.slash(t.Context(), "U0ADMIN", "C0PLAT2", "team lead <@U0BOB>")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, m.Text, "<@U0BOB> is now a lead of *Data*")
	})
	t.Run("help", func(t *testing.T) {
		mustContain(t, h.slash(t, alice, "team add help"), "/okr team add @user …", "add members")
	})
}

func longName(n int) string {
	b := make([]rune, n)
	for i := range b {
		b[i] = 'é'
	}
	return string(b)
}
