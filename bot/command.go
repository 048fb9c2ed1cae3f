package bot

import (
	"fmt"
	"regexp"
	"strings"
)

// commandSpec is one line of the /okr grammar.
type commandSpec struct {
	path    string // subcommand words, e.g. "team add"; "" for bare /okr
	usage   string
	summary string
	args    argKind
}

// argKind says what a subcommand takes after its words.
type argKind int

const (
	noArgs    argKind = iota
	optTarget         // [@user|#channel]
	freeText          // the rest of the line, required
	usersArgs         // one or more @users
	kpiRecord         // NAME VALUE [note]
	kpiName           // NAME
	optPeriod         // [2027-Q1]
	awayUntil         // until DATE
)

// grammar is the whole /okr surface, in the order help lists it.
var grammar = []commandSpec{
	{"", "/okr", "my OKRs and KPIs at a glance", noArgs},
	{"help", "/okr help", "this help", noArgs},
	{"list", "/okr list [@user|#channel]", "objectives with key results and progress", optTarget},
	{"new", "/okr new", "create an objective and its first key results", noArgs},
	{"kr add", "/okr kr add", "add a key result to an objective", noArgs},
	{"checkin", "/okr checkin", "open my check-in now", noArgs},
	{"checkin send", "/okr checkin send", "(lead) send this team's check-ins now", noArgs},
	{"kpi new", "/okr kpi new", "define a KPI", noArgs},
	{"kpi record", "/okr kpi record NAME VALUE [note]", "record a KPI reading", kpiRecord},
	{"kpi edit", "/okr kpi edit NAME", "(owner or lead) change a KPI", kpiName},
	{"kpi archive", "/okr kpi archive NAME", "(owner or lead) archive a KPI", kpiName},
	{"team create", "/okr team create NAME", "create a team bound to this channel", freeText},
	{"team add", "/okr team add @user …", "(lead) add members to this channel's team", usersArgs},
	{"team lead", "/okr team lead @user …", "(lead) make people leads of this channel's team", usersArgs},
	{"schedule", "/okr schedule", "(lead) this team's check-in and digest schedule", noArgs},
	{"digest", "/okr digest", "post this team's weekly digest now", noArgs},
	{"summary", "/okr summary [2027-Q1]", "post this team's quarterly summary now", optPeriod},
	{"quarter close", "/okr quarter close [2027-Q1]", "(lead) close this team's quarter and freeze its scores", optPeriod},
	{"quarter carry", "/okr quarter carry [2027-Q1]", "(lead) carry unfinished aspirational objectives into the next quarter", optPeriod},
	{"export", "/okr export [2027-Q1]", "a CSV of check-ins, updates and readings, sent to me", optPeriod},
	{"away", "/okr away until 2027-01-05", "no check-ins or reminders for me until then", awayUntil},
	{"back", "/okr back", "end my time away", noArgs},
}

// Command is a parsed /okr line.
type Command struct {
	Path    string   // the matched subcommand, e.g. "team add"
	Help    bool     // "… help" was asked for
	Rest    string   // the text after the subcommand words, trimmed
	Args    []string // Rest split on white space
	Users   []string // user IDs mentioned, in order, without repeats
	Channel string   // a channel mentioned (list)
}

// Spec returns the grammar line of the command.
func (c Command) Spec() commandSpec { return specFor(c.Path) }

func specFor(path string) commandSpec {
	for _, s := range grammar {
		if s.path == path {
			return s
		}
	}
	return grammar[0]
}

// UsageError is bad /okr input: what is wrong and the usage line that helps.
type UsageError struct {
	Problem string
	Usage   string // usage line(s) to show, may be several joined by newlines
}

func (e *UsageError) Error() string { return e.Problem }

var (
	userMention    = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)
	channelMention = regexp.MustCompile(`^<#(C[A-Z0-9]+|G[A-Z0-9]+)(?:\|[^>]*)?>$`)
)

// ParseCommand parses the text of an /okr slash command. It never panics; bad
// input returns a *UsageError.
func ParseCommand(text string) (Command, error) {
	words := strings.Fields(text)
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = strings.ToLower(w)
	}
	// The longest subcommand whose words start the line wins.
	var spec *commandSpec
	n := 0
	for i := range grammar {
		p := strings.Fields(grammar[i].path)
		if len(p) <= len(lower) && len(p) >= n && equalWords(p, lower[:len(p)]) {
			spec, n = &grammar[i], len(p)
		}
	}
	if spec == nil || (spec.path == "" && len(words) > 0) {
		return Command{}, unknownCommand(words)
	}
	cmd := Command{Path: spec.path, Args: words[n:]}
	cmd.Rest = restAfter(text, n)
	if len(cmd.Args) == 1 && strings.EqualFold(cmd.Args[0], "help") && spec.args != freeText {
		cmd.Help = true
		return cmd, nil
	}
	if spec.args == freeText && strings.EqualFold(cmd.Rest, "help") {
		cmd.Help = true
		return cmd, nil
	}
	if err := parseArgs(spec, &cmd); err != nil {
		return Command{}, err
	}
	return cmd, nil
}

func parseArgs(spec *commandSpec, cmd *Command) error {
	bad := func(format string, args ...any) error {
		return &UsageError{Problem: fmt.Sprintf(format, args...), Usage: spec.usage}
	}
	switch spec.args {
	case noArgs:
		if len(cmd.Args) > 0 {
			return bad("`%s` takes nothing after it, but got “%s”.", spec.usage, cmd.Rest)
		}
	case optTarget:
		switch {
		case len(cmd.Args) > 1:
			return bad("Name one person or one channel, not %d.", len(cmd.Args))
		case len(cmd.Args) == 1:
			if m := userMention.FindStringSubmatch(cmd.Args[0]); m != nil {
				cmd.Users = []string{m[1]}
			} else if m := channelMention.FindStringSubmatch(cmd.Args[0]); m != nil {
				cmd.Channel = m[1]
			} else {
				return bad("“%s” is not a person or a channel: mention one, like @alice or #platform.", cmd.Args[0])
			}
		}
	case freeText:
		if cmd.Rest == "" {
			return bad("Give it a name, e.g. `%s`.", strings.Replace(spec.usage, "NAME", "Platform", 1))
		}
	case usersArgs:
		if len(cmd.Args) == 0 {
			return bad("Mention at least one person, e.g. `%s`.", strings.Replace(spec.usage, "@user …", "@alice @bob", 1))
		}
		seen := map[string]bool{}
		for _, a := range cmd.Args {
			m := userMention.FindStringSubmatch(a)
			if m == nil {
				return bad("“%s” is not a person: mention people with @, like @alice.", a)
			}
			if !seen[m[1]] {
				seen[m[1]] = true
				cmd.Users = append(cmd.Users, m[1])
			}
		}
	case kpiRecord:
		if len(cmd.Args) < 2 {
			return bad("Give the KPI's name and a value, e.g. `/okr kpi record on-time-delivery 96%%`.")
		}
	case kpiName:
		switch {
		case len(cmd.Args) == 0:
			return bad("Give the KPI's name, e.g. `%s`.", strings.Replace(spec.usage, "NAME", "on-time-delivery", 1))
		case len(cmd.Args) > 1:
			return bad("A KPI's name has no spaces: give just the name, e.g. `%s`.", strings.Replace(spec.usage, "NAME", "on-time-delivery", 1))
		}
	case optPeriod:
		if len(cmd.Args) > 1 {
			return bad("Give at most one period, like 2027-Q1.")
		}
	case awayUntil:
		if len(cmd.Args) != 2 || !strings.EqualFold(cmd.Args[0], "until") {
			return bad("Say until when, e.g. `/okr away until 2027-01-05`.")
		}
	}
	return nil
}

func unknownCommand(words []string) error {
	if len(words) == 0 {
		return &UsageError{Problem: "Empty command.", Usage: HelpUsage()}
	}
	// A known group word ("team", "kpi", "kr", "checkin") with a wrong verb.
	var verbs []string
	for _, s := range grammar {
		if g, _, ok := strings.Cut(s.path, " "); ok && strings.EqualFold(g, words[0]) {
			verbs = append(verbs, s.usage)
		}
	}
	if len(verbs) > 0 {
		return &UsageError{
			Problem: fmt.Sprintf("`/okr %s` needs one of these:", strings.Join(words, " ")),
			Usage:   strings.Join(verbs, "\n"),
		}
	}
	return &UsageError{
		Problem: fmt.Sprintf("I don't know `/okr %s`. Here is what I do:", strings.Join(words, " ")),
		Usage:   HelpUsage(),
	}
}

// HelpUsage returns every usage line of the grammar.
func HelpUsage() string {
	lines := make([]string, len(grammar))
	for i, s := range grammar {
		lines[i] = s.usage
	}
	return strings.Join(lines, "\n")
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// restAfter returns text after its first n words, trimmed.
func restAfter(text string, n int) string {
	rest := strings.TrimSpace(text)
	for i := 0; i < n; i++ {
		rest = strings.TrimLeftFunc(rest, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' })
		rest = strings.TrimSpace(rest)
	}
	return rest
}
