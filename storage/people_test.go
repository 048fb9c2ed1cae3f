package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func TestAway(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)

	awayUntil := func(t *testing.T, user string) *time.Time {
		t.Helper()
		until, err := s.AwayUntil(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return until
	}
	clear := func(t *testing.T, user string, want bool) {
		t.Helper()
		ok, err := s.ClearAway(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if ok != want {
			t.Errorf("clear away: got %v, want %v", ok, want)
		}
	}

	t.Run("never away", func(t *testing.T) {
		user := unique("U")
		if until := awayUntil(t, user); until != nil {
			t.Errorf("away until: got %v, want nil", until)
		}
		clear(t, user, false)
	})

	t.Run("set, replace and clear", func(t *testing.T) {
		user := unique("U")
		// A date in a zone east of UTC keeps its calendar date.
		tokyo := time.FixedZone("JST", 9*60*60)
		for _, until := range []time.Time{
			time.Date(2027, 4, 20, 0, 0, 0, 0, tokyo),
			time.Date(2027, 4, 12, 0, 0, 0, 0, time.UTC), // today, inclusive
		} {
			if err := s.SetAway(ctx, user, until); err != nil {
				t.Fatal(err)
			}
			want := time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.UTC)
			if got := awayUntil(t, user); got == nil || !got.Equal(want) {
				t.Errorf("away until: got %v, want %v", got, want)
			}
		}
		clear(t, user, true)
		clear(t, user, false)
		if until := awayUntil(t, user); until != nil {
			t.Errorf("away until after clearing: got %v, want nil", until)
		}
	})

	t.Run("ended yesterday in UTC: maybe today where they live", func(t *testing.T) {
		user := unique("U")
		want := today.AddDate(0, 0, -1)
		if err := s.SetAway(ctx, user, want); err != nil {
			t.Fatal(err)
		}
		if got := awayUntil(t, user); got == nil || !got.Equal(want) {
			t.Errorf("away until: got %v, want %v", got, want)
		}
	})

	t.Run("in the past", func(t *testing.T) {
		user := unique("U")
		if err := s.SetAway(ctx, user, today.AddDate(0, 0, -2)); err != nil {
			t.Fatal(err)
		}
		if until := awayUntil(t, user); until != nil {
			t.Errorf("away until: got %v, want nil", until)
		}
		clear(t, user, false)
	})
}

func TestSlackUsers(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	alice, bot, gone := unique("U"), unique("U"), unique("U")
	if err := s.UpsertSlackUsers(ctx, []okr.SlackUser{
		{ID: alice, TZ: "Europe/Paris"},
		{ID: bot, IsBot: true},
		{ID: alice, TZ: "Europe/Berlin", IsAdmin: true, IsOwner: true}, // the last one wins
		{ID: gone, TZ: "Asia/Tokyo", Deleted: true},
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []okr.SlackUser{
		{ID: alice, TZ: "Europe/Berlin", IsAdmin: true, IsOwner: true},
		{ID: bot, IsBot: true},
		{ID: gone, TZ: "Asia/Tokyo", Deleted: true},
	} {
		got, err := s.SlackUser(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("slack user: got %+v, want %+v", got, want)
		}
	}

	later := now.Add(time.Hour)
	s.Now = func() time.Time { return later }
	defer func() { s.Now = func() time.Time { return now } }()
	if err := s.UpsertSlackUsers(ctx, []okr.SlackUser{{ID: alice, TZ: "America/Chicago"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SlackUser(ctx, alice); err != nil || got != (okr.SlackUser{ID: alice, TZ: "America/Chicago"}) {
		t.Errorf("updated slack user: got %+v, %v", got, err)
	}
	var fetched time.Time
	if err := s.DB().GetContext(ctx, &fetched, `SELECT fetched_at FROM slack_users WHERE id = $1`, alice); err != nil {
		t.Fatal(err)
	}
	if !fetched.Equal(later) {
		t.Errorf("fetched at: got %v, want %v", fetched, later)
	}

	_, err := s.SlackUser(ctx, unique("U"))
	wantCode(t, err, okr.ENOTFOUND)
	if err := s.UpsertSlackUsers(ctx, nil); err != nil {
		t.Errorf("no users: %v", err)
	}
}
