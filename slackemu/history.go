package slackemu

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// parseTS turns a Slack timestamp ("1700000000.000123" or "1700000000") into
// microseconds.
func parseTS(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return 0, false
	}
	var us int64
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		frac += strings.Repeat("0", 6-len(frac))
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil || us < 0 {
			return 0, false
		}
	}
	return s*1e6 + us, true
}

// historyCursor is Slack's cursor format for conversations.history:
// base64("next_ts:<ts in microseconds>"), naming the newest message of the next page.
func historyCursor(ts string) string {
	us, _ := parseTS(ts)
	return base64.StdEncoding.EncodeToString([]byte("next_ts:" + strconv.FormatInt(us, 10)))
}

func parseHistoryCursor(c string) (int64, bool) {
	dec, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(string(dec), "next_ts:")
	if !ok {
		return 0, false
	}
	us, err := strconv.ParseInt(v, 10, 64)
	return us, err == nil
}

func truthy(v string) bool { return v == "1" || v == "true" }

// conversationsHistory answers conversations.history: the conversation's
// messages newest first, without thread replies and deleted messages, between
// oldest and latest, limit per page with a next_ts cursor.
func (s *Server) conversationsHistory(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.get("channel")
	if _, ok := s.imUsers[ch]; !ok {
		c, ok := s.channels[ch]
		member := ok && contains(c.Members, s.opts.BotUserID)
		switch {
		case !ok, c.IsPrivate && !member:
			return nil, errCode("channel_not_found")
		case !member:
			return nil, errCode("not_in_channel")
		}
	}
	limit, _ := strconv.Atoi(r.get("limit"))
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 999)
	inclusive := truthy(r.get("inclusive"))
	withMetadata := truthy(r.get("include_all_metadata"))

	msgs := s.messages[ch]
	tsAt := func(i int) int64 { us, _ := parseTS(msgs[i].TS); return us }
	// Messages are kept in ts order: [lo, hi) is the window to page through.
	lo, hi := 0, len(msgs)
	if v := r.get("oldest"); v != "" {
		oldest, ok := parseTS(v)
		if !ok {
			return nil, errCode("invalid_ts_oldest")
		}
		lo = sort.Search(len(msgs), func(i int) bool {
			if inclusive {
				return tsAt(i) >= oldest
			}
			return tsAt(i) > oldest
		})
	}
	if v := r.get("latest"); v != "" {
		latest, ok := parseTS(v)
		if !ok {
			return nil, errCode("invalid_ts_latest")
		}
		hi = sort.Search(len(msgs), func(i int) bool {
			if inclusive {
				return tsAt(i) > latest
			}
			return tsAt(i) >= latest
		})
	}
	if c := r.get("cursor"); c != "" {
		next, ok := parseHistoryCursor(c)
		if !ok {
			return nil, errCode("invalid_cursor")
		}
		hi = min(hi, sort.Search(len(msgs), func(i int) bool { return tsAt(i) > next }))
	}

	out := []obj{}
	hasMore, next := false, ""
	for i := hi - 1; i >= lo; i-- {
		m := msgs[i]
		if m.Deleted || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		if len(out) == limit {
			hasMore, next = true, historyCursor(m.TS)
			break
		}
		o := s.messageJSON(m)
		if !withMetadata {
			delete(o, "metadata")
		}
		if n := s.replies[m.Ref()]; n > 0 {
			o["thread_ts"] = m.TS
			o["reply_count"] = n
			o["reply_users_count"] = 1
			o["reply_users"] = []string{s.opts.BotUserID}
		}
		out = append(out, o)
	}
	resp := obj{"messages": out, "has_more": hasMore, "pin_count": 0}
	if hasMore {
		resp["response_metadata"] = obj{"next_cursor": next}
	}
	return resp, nil
}
