package manifests_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/okrbot/okrbot/manifests"
)

// schemaDir is where Slack's manifest schemas sit, relative to the folder
// beside the repository root.
const schemaDir = "shared/reference/slack-manifest-schema"

// TestSlackAppSchema validates the Slack app manifest against Slack's own
// JSON schema, and checks that the schema rejects a broken manifest.
func TestSlackAppSchema(t *testing.T) {
	schema := mustCompileSchema(t)

	if err := schema.Validate(mustDecode(t, manifests.SlackApp)); err != nil {
		t.Fatalf("slack-app.json against Slack's schema: got %v, want it valid", err)
	}

	tests := []struct {
		name   string
		change func(m map[string]any)
	}{
		{"name of 40 characters", func(m map[string]any) {
			object(t, m, "display_information")["name"] = strings.Repeat("x", 40)
		}},
		{"command without a slash", func(m map[string]any) {
			commands := object(t, m, "features")["slash_commands"].([]any)
			commands[0].(map[string]any)["command"] = "okr"
		}},
		{"unknown top-level key", func(m map[string]any) {
			m["unknown"] = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustDecode(t, manifests.SlackApp).(map[string]any)
			tt.change(m)
			err := schema.Validate(m)
			var verr *jsonschema.ValidationError
			if !errors.As(err, &verr) {
				t.Errorf("validate: got %v, want a validation error", err)
			}
		})
	}
}

// TestSlackAppFeatures checks the parts of the manifest the bot relies on.
func TestSlackAppFeatures(t *testing.T) {
	var m struct {
		Features struct {
			AppHome struct {
				HomeTabEnabled bool `json:"home_tab_enabled"`
			} `json:"app_home"`
			SlashCommands []struct {
				Command      string `json:"command"`
				ShouldEscape bool   `json:"should_escape"`
			} `json:"slash_commands"`
		} `json:"features"`
		OAuthConfig struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
		Settings struct {
			EventSubscriptions struct {
				BotEvents []string `json:"bot_events"`
			} `json:"event_subscriptions"`
			Interactivity struct {
				IsEnabled bool `json:"is_enabled"`
			} `json:"interactivity"`
			SocketModeEnabled bool `json:"socket_mode_enabled"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(manifests.SlackApp, &m); err != nil {
		t.Fatalf("decode slack-app.json: %v", err)
	}

	if !m.Settings.SocketModeEnabled {
		t.Errorf("settings.socket_mode_enabled: got false, want true")
	}
	if !m.Settings.Interactivity.IsEnabled {
		t.Errorf("settings.interactivity.is_enabled: got false, want true")
	}
	if !m.Features.AppHome.HomeTabEnabled {
		t.Errorf("features.app_home.home_tab_enabled: got false, want true")
	}
	if !slices.Contains(m.Settings.EventSubscriptions.BotEvents, "app_home_opened") {
		t.Errorf("settings.event_subscriptions.bot_events: got %q, want app_home_opened among them", m.Settings.EventSubscriptions.BotEvents)
	}

	found := false
	for _, c := range m.Features.SlashCommands {
		if c.Command != "/okr" {
			continue
		}
		found = true
		if !c.ShouldEscape {
			t.Errorf("/okr should_escape: got false, want true")
		}
	}
	if !found {
		t.Errorf("features.slash_commands: got no /okr, want one")
	}

	// Which scopes: TestBotScopesMatchTheCode. Here: sorted, no duplicates.
	if got := m.OAuthConfig.Scopes.Bot; !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("oauth_config.scopes.bot: got %q, want them sorted without duplicates", got)
	}
}

// TestRegexpEngine checks the rewrite of the schema's one ECMAScript-only
// pattern against the domains it must take and refuse.
func TestRegexpEngine(t *testing.T) {
	re, err := regexpEngine(`^(?![\.\-])([-a-z0-9\.])+([a-z0-9])$`)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"example.com": true, "a1": true, "a-b.c": true,
		".example.com": false, "-example.com": false, "example.": false, "a": false, "Example.com": false,
	} {
		if got := re.MatchString(s); got != want {
			t.Errorf("match %q: got %t, want %t", s, got, want)
		}
	}
}

// mustCompileSchema compiles Slack's v1 manifest schema. Without the schema
// it fails tb when CI is set and skips it otherwise.
func mustCompileSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	dir, err := findSchemaDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%v; CI is set, so the manifest must be checked", err)
		}
		tb.Skip(err)
	}
	path := filepath.Join(dir, "manifest.schema.1.0.0.json")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}

	// The schema says draft-07 in $schema, which the compiler knows without
	// loading anything, and has no $id; its $refs are all internal.
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(regexpEngine)
	const url = "https://slack.com/manifest.schema.1.0.0.json"
	if err := c.AddResource(url, doc); err != nil {
		tb.Fatalf("add %s: %v", path, err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		tb.Fatalf("compile %s: %v", path, err)
	}
	return schema
}

// findSchemaDir walks up from the working directory to the repository root,
// the folder holding go.mod, and returns the schema folder beside it.
func findSchemaDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			schemas := filepath.Join(filepath.Dir(dir), schemaDir)
			if fi, err := os.Stat(schemas); err != nil || !fi.IsDir() {
				return "", errors.New("no Slack manifest schema at " + schemas)
			}
			return schemas, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above " + wd + ", so no Slack manifest schema beside it")
		}
	}
}

// ecmaPatterns rewrites the schema's patterns that Go's regexp cannot parse
// into equivalent ones it can. The domain pattern's lookahead only forbids
// a leading '.' or '-'.
var ecmaPatterns = map[string]string{
	`^(?![\.\-])([-a-z0-9\.])+([a-z0-9])$`: `^[a-z0-9][-a-z0-9.]*[a-z0-9]$`,
}

// regexpEngine compiles the schema's patterns with Go's regexp, after
// rewriting the known ECMAScript-only ones. Any other pattern Go cannot
// parse fails the compile, so that none is silently dropped.
func regexpEngine(pattern string) (jsonschema.Regexp, error) {
	if rewrite, ok := ecmaPatterns[pattern]; ok {
		pattern = rewrite
	}
	return regexp.Compile(pattern)
}

func mustDecode(tb testing.TB, b []byte) any {
	tb.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode manifest: %v", err)
	}
	return v
}

func object(tb testing.TB, m map[string]any, key string) map[string]any {
	tb.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		tb.Fatalf("%s: got %T, want an object", key, m[key])
	}
	return o
}
