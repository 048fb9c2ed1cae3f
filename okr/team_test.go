package okr_test

import (
	"strings"
	"testing"

	"github.com/okrbot/okrbot/okr"
)

func TestTeam_Validate(t *testing.T) {
	tests := []struct {
		name      string
		team      okr.Team
		wantField string
		wantName  string
	}{
		{"valid", okr.Team{Name: "Platform", ChannelID: "C1"}, "", "Platform"},
		{"name trimmed", okr.Team{Name: "  Platform \n", ChannelID: "C1"}, "", "Platform"},
		{"name at the limit", okr.Team{Name: strings.Repeat("ø", okr.MaxTeamNameLen), ChannelID: "C1"}, "", strings.Repeat("ø", okr.MaxTeamNameLen)},
		{"empty name", okr.Team{Name: "", ChannelID: "C1"}, "name", ""},
		{"whitespace name", okr.Team{Name: " \t", ChannelID: "C1"}, "name", ""},
		{"name too long", okr.Team{Name: strings.Repeat("ø", okr.MaxTeamNameLen+1), ChannelID: "C1"}, "name", ""},
		{"no channel", okr.Team{Name: "Platform"}, "channel", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			team := tt.team
			err := team.Validate()
			checkFieldError(t, err, tt.wantField, "")
			if err == nil && team.Name != tt.wantName {
				t.Errorf("Name got %q, want %q", team.Name, tt.wantName)
			}
		})
	}
}

func TestActor_CanLead(t *testing.T) {
	tests := []struct {
		name  string
		actor okr.Actor
		role  okr.Role
		want  bool
	}{
		{"lead", okr.Actor{UserID: "U1"}, okr.RoleLead, true},
		{"member", okr.Actor{UserID: "U1"}, okr.RoleMember, false},
		{"not a member", okr.Actor{UserID: "U1"}, "", false},
		{"admin not a member", okr.Actor{UserID: "U1", Admin: true}, "", true},
		{"admin member", okr.Actor{UserID: "U1", Admin: true}, okr.RoleMember, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.actor.CanLead(tt.role); got != tt.want {
				t.Errorf("CanLead(%q) got %v, want %v", tt.role, got, tt.want)
			}
		})
	}
}

func TestDefaultSchedule(t *testing.T) {
	s := okr.DefaultSchedule(7)
	if s.TeamID != 7 {
		t.Errorf("TeamID got %d, want 7", s.TeamID)
	}
	if s.CheckinMinute != 600 || s.DigestMinute != 960 {
		t.Errorf("check-in and digest minutes got %d and %d, want 600 and 960", s.CheckinMinute, s.DigestMinute)
	}
	if !s.QuarterSummary {
		t.Errorf("QuarterSummary got false, want true")
	}
}
