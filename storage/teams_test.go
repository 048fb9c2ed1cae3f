package storage_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func TestCreateTeam(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	t.Run("lead and schedule", func(t *testing.T) {
		lead := unique("U")
		team := &okr.Team{Name: unique("Platform "), ChannelID: unique("C"), CreatedBy: lead}
		if err := s.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
		if team.ID == 0 {
			t.Fatalf("ID: got 0, want one set")
		}
		if !team.CreatedAt.Equal(now) {
			t.Errorf("CreatedAt: got %v, want %v", team.CreatedAt, now)
		}
		got, err := s.Team(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != team.Name || got.ChannelID != team.ChannelID || got.CreatedBy != lead || got.ParentID != nil || !got.CreatedAt.Equal(now) {
			t.Errorf("Team: got %+v, want %+v", got, team)
		}
		byChannel, err := s.TeamByChannel(ctx, team.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		if byChannel.ID != team.ID {
			t.Errorf("TeamByChannel: got team %d, want %d", byChannel.ID, team.ID)
		}
		role, err := s.MemberRole(ctx, team.ID, lead)
		if err != nil {
			t.Fatal(err)
		}
		if role != okr.RoleLead {
			t.Errorf("creator's role: got %q, want %q", role, okr.RoleLead)
		}
		sc, err := s.Schedule(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := okr.DefaultSchedule(team.ID); sc != want {
			t.Errorf("schedule: got %+v, want %+v", sc, want)
		}
		if sc.ReminderDelay != 24*time.Hour {
			t.Errorf("reminder delay: got %v, want 24h", sc.ReminderDelay)
		}
	})

	t.Run("parent", func(t *testing.T) {
		parent := mustCreateTeam(t, s, unique("U"))
		child := &okr.Team{Name: unique("Child "), ChannelID: unique("C"), CreatedBy: unique("U"), ParentID: &parent.ID}
		if err := s.CreateTeam(ctx, child); err != nil {
			t.Fatal(err)
		}
		got, err := s.Team(ctx, child.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ParentID == nil || *got.ParentID != parent.ID {
			t.Errorf("ParentID: got %v, want %d", got.ParentID, parent.ID)
		}
	})

	t.Run("duplicate channel", func(t *testing.T) {
		first := mustCreateTeam(t, s, unique("U"))
		err := s.CreateTeam(ctx, &okr.Team{Name: unique("Other "), ChannelID: first.ChannelID, CreatedBy: unique("U")})
		wantCode(t, err, okr.ECONFLICT)
		if got, want := okr.ErrorMessage(err), "This channel already has a team: "+first.Name+"."; got != want {
			t.Errorf("message: got %q, want %q", got, want)
		}
	})

	t.Run("duplicate name in another case", func(t *testing.T) {
		first := mustCreateTeam(t, s, unique("U"))
		err := s.CreateTeam(ctx, &okr.Team{Name: strings.ToLower(first.Name), ChannelID: unique("C"), CreatedBy: unique("U")})
		wantCode(t, err, okr.ECONFLICT)
		if got := okr.ErrorMessage(err); !strings.Contains(got, first.Name) {
			t.Errorf("message: got %q, want it to name %q", got, first.Name)
		}
		if _, err := s.TeamByChannel(ctx, first.ChannelID); err != nil {
			t.Errorf("first team after the conflict: %v", err)
		}
	})

	t.Run("too long a name", func(t *testing.T) {
		err := s.CreateTeam(ctx, &okr.Team{Name: strings.Repeat("x", 81), ChannelID: unique("C"), CreatedBy: unique("U")})
		wantCode(t, err, okr.EINVALID)
	})

	t.Run("not found", func(t *testing.T) {
		_, err := s.Team(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)
		_, err = s.TeamByChannel(ctx, unique("C"))
		wantCode(t, err, okr.ENOTFOUND)
		_, err = s.Schedule(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)
	})
}

func TestMembers(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	t.Run("add, promote, never demote", func(t *testing.T) {
		clock := now
		s.Now = func() time.Time { return clock }
		defer func() { s.Now = func() time.Time { return now } }()
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		ann, bob, cat := unique("U"), unique("U"), unique("U")
		clock = clock.Add(time.Minute)

		changed, err := s.AddMembers(ctx, team.ID, []string{ann, bob, ann, lead}, okr.RoleMember, lead)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{ann, bob}; !slices.Equal(changed, want) {
			t.Errorf("changed by adding members: got %v, want %v", changed, want)
		}

		clock = clock.Add(time.Minute)
		changed, err = s.AddMembers(ctx, team.ID, []string{bob, cat, lead}, okr.RoleLead, lead)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{bob, cat}; !slices.Equal(changed, want) {
			t.Errorf("changed by adding leads: got %v, want %v", changed, want)
		}

		changed, err = s.AddMembers(ctx, team.ID, []string{ann, bob}, okr.RoleMember, lead)
		if err != nil {
			t.Fatal(err)
		}
		if len(changed) != 0 {
			t.Errorf("changed by adding members again: got %v, want none", changed)
		}

		for user, want := range map[string]okr.Role{lead: okr.RoleLead, ann: okr.RoleMember, bob: okr.RoleLead, cat: okr.RoleLead} {
			got, err := s.MemberRole(ctx, team.ID, user)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("role of %s: got %q, want %q", user, got, want)
			}
		}

		members, err := s.TeamMembers(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range members {
			got = append(got, m.UserID+":"+string(m.Role))
		}
		// Leads first; within a role, in the order added: bob was a member
		// before he was promoted.
		wantOrder := []string{lead + ":lead", bob + ":lead", cat + ":lead", ann + ":member"}
		if !slices.Equal(got, wantOrder) {
			t.Errorf("TeamMembers: got %v, want %v", got, wantOrder)
		}
		if members[0].AddedBy != lead || !members[0].AddedAt.Equal(now) {
			t.Errorf("first member: got added by %q at %v, want %q at %v", members[0].AddedBy, members[0].AddedAt, lead, now)
		}
	})

	t.Run("not a member", func(t *testing.T) {
		team := mustCreateTeam(t, s, unique("U"))
		role, err := s.MemberRole(ctx, team.ID, unique("U"))
		if err != nil {
			t.Fatal(err)
		}
		if role != "" {
			t.Errorf("role: got %q, want \"\"", role)
		}
	})

	t.Run("unknown team", func(t *testing.T) {
		_, err := s.AddMembers(ctx, -1, []string{unique("U")}, okr.RoleMember, unique("U"))
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("bad role", func(t *testing.T) {
		team := mustCreateTeam(t, s, unique("U"))
		_, err := s.AddMembers(ctx, team.ID, []string{unique("U")}, okr.Role("owner"), unique("U"))
		wantCode(t, err, okr.EINVALID)
	})

	t.Run("teams by member", func(t *testing.T) {
		user := unique("U")
		b := &okr.Team{Name: unique("Bravo "), ChannelID: unique("C"), CreatedBy: user}
		a := &okr.Team{Name: unique("alpha "), ChannelID: unique("C"), CreatedBy: unique("U")}
		for _, team := range []*okr.Team{b, a} {
			if err := s.CreateTeam(ctx, team); err != nil {
				t.Fatal(err)
			}
		}
		mustCreateTeam(t, s, unique("U")) // someone else's
		if _, err := s.AddMembers(ctx, a.ID, []string{user}, okr.RoleMember, a.CreatedBy); err != nil {
			t.Fatal(err)
		}
		teams, err := s.TeamsByMember(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, team := range teams {
			got = append(got, team.ID)
		}
		if want := []int64{a.ID, b.ID}; !slices.Equal(got, want) {
			t.Errorf("TeamsByMember: got %v, want %v (by name, in any case)", got, want)
		}
		none, err := s.TeamsByMember(ctx, unique("U"))
		if err != nil {
			t.Fatal(err)
		}
		if none == nil || len(none) != 0 {
			t.Errorf("TeamsByMember of a stranger: got %#v, want an empty slice", none)
		}
	})
}

func TestTeamRoles(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead, member, stranger := unique("U"), unique("U"), unique("U")
	team := mustCreateTeam(t, s, lead)
	if _, err := s.AddMembers(ctx, team.ID, []string{member}, okr.RoleMember, lead); err != nil {
		t.Fatal(err)
	}
	got, roles, err := s.TeamRoles(ctx, team.ID, []string{stranger, lead, member, "", lead})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != team.ID || got.Name != team.Name {
		t.Errorf("team: got %+v, want %+v", got, team)
	}
	want := []okr.Role{"", okr.RoleLead, okr.RoleMember, "", okr.RoleLead}
	if !slices.Equal(roles, want) {
		t.Errorf("roles: got %q, want %q", roles, want)
	}
	_, _, err = s.TeamRoles(ctx, -1, []string{lead})
	wantCode(t, err, okr.ENOTFOUND)
}
