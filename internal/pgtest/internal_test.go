package pgtest

import (
	"strings"
	"testing"
)

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		pkg, want string
	}{
		{"storage", "okrbot_test_storage_abc123"},
		{"Scheduler-v2", "okrbot_test_scheduler_v2_abc123"},
		{"", "okrbot_test_pkg_abc123"},
		{"..", "okrbot_test_pkg_abc123"},
	}
	for _, tt := range tests {
		if got := databaseName(tt.pkg, "abc123"); got != tt.want {
			t.Errorf("databaseName(%q): got %q, want %q", tt.pkg, got, tt.want)
		}
	}
	long := databaseName(strings.Repeat("x", 100), "abcdef012345")
	if len(long) > 63 || !strings.HasSuffix(long, "_abcdef012345") {
		t.Errorf("databaseName(long): got %q (%d bytes), want at most 63 bytes ending in the suffix", long, len(long))
	}
}

// TestSetupWithoutServer checks what happens when nothing answers: a
// failure under CI, otherwise a temporary cluster or a skip, and never the
// password in the reason.
func TestSetupWithoutServer(t *testing.T) {
	const password = "pgtest-s3cret"
	defer saveState(t)()

	t.Setenv("TEST_DATABASE_URL", "postgres://postgres:"+password+"@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")

	t.Run("CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		resetState()
		setup()
		if state.fail == "" {
			t.Fatalf("fail: got none, want a reason")
		}
		if !strings.Contains(state.fail, "CI is set") {
			t.Errorf("fail: got %q, want it to mention CI", state.fail)
		}
		if strings.Contains(state.fail, password) {
			t.Errorf("fail: got %q, which holds the password", state.fail)
		}
	})
	t.Run("local", func(t *testing.T) {
		t.Setenv("CI", "")
		resetState()
		setup()
		if state.cluster != nil {
			// Not root and PostgreSQL installed: a temporary cluster.
			if state.admin == nil {
				t.Errorf("admin: got nil with a cluster, want a connection")
			}
			if err := teardownLocked(); err != nil {
				t.Errorf("teardown: %v", err)
			}
			return
		}
		if state.fail != "" {
			t.Errorf("fail: got %q, want a skip without CI", state.fail)
		}
		if state.skip == "" {
			t.Fatalf("skip: got none, want a reason")
		}
		if strings.Contains(state.skip, password) {
			t.Errorf("skip: got %q, which holds the password", state.skip)
		}
		t.Logf("skip reason: %s", state.skip)
	})
}

// saveState holds pgtest's lock for the test and returns a function that
// puts the state back.
func saveState(t *testing.T) func() {
	state.mu.Lock()
	t.Cleanup(state.mu.Unlock)
	inMain, didSetup, skip, fail := state.inMain, state.setup, state.skip, state.fail
	admin, server, c, pkgDB, made := state.admin, state.server, state.cluster, state.pkgDB, state.made
	return func() {
		state.inMain, state.setup, state.skip, state.fail = inMain, didSetup, skip, fail
		state.admin, state.server, state.cluster, state.pkgDB, state.made = admin, server, c, pkgDB, made
	}
}

func resetState() {
	state.setup, state.skip, state.fail = false, "", ""
	state.admin, state.server, state.cluster, state.pkgDB, state.made = nil, nil, nil, "", nil
}
