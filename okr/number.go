package okr

import (
	"math"
	"strconv"
	"strings"
)

// ParseNumber reads a number as people type it: "95", "-3.5", "95%",
// "1,200", "1 200", "1.2k", "3M", "$40". A thousands separator must sit
// between digits in groups of three. It returns an EINVALID error naming the
// input otherwise.
func ParseNumber(s string) (float64, error) {
	in := strings.TrimSpace(s)
	t := in
	if t == "" {
		return 0, FieldErrorf("value", "Enter a number, e.g. 42, 95%%, 1,200 or 1.2k.")
	}
	neg := false
	switch {
	case strings.HasPrefix(t, "+"):
		t = t[len("+"):]
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[len("-"):]
	case strings.HasPrefix(t, "−"):
		neg, t = true, t[len("−"):]
	}
	for _, sym := range []string{"$", "€", "£"} {
		t = strings.TrimPrefix(t, sym)
	}
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(t), "%"))
	mult := 1.0
	if n := len(t); n > 1 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:n-1]
		case 'm', 'M':
			mult, t = 1e6, t[:n-1]
		case 'b', 'B':
			mult, t = 1e9, t[:n-1]
		}
	}
	t, ok := stripThousands(t)
	if !ok {
		return 0, FieldErrorf("value", "%q is not a number: try 42, 95%%, 1,200 or 1.2k.", in)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(t, "eExXpP_+-") {
		return 0, FieldErrorf("value", "%q is not a number: try 42, 95%%, 1,200 or 1.2k.", in)
	}
	v *= mult
	if neg {
		v = -v
	}
	if math.Abs(v) > 1e15 {
		return 0, FieldErrorf("value", "%q is too large.", in)
	}
	return v, nil
}

// stripThousands removes ',' or ' ' separators from the integer part of t,
// reporting false when they are not in groups of three.
func stripThousands(t string) (string, bool) {
	intPart, frac, hasFrac := strings.Cut(t, ".")
	sep := ""
	if strings.Contains(intPart, ",") {
		sep = ","
	} else if strings.Contains(intPart, " ") {
		sep = " "
	}
	if strings.ContainsAny(frac, ", ") || intPart == "" && !hasFrac {
		return t, false
	}
	if sep != "" {
		groups := strings.Split(intPart, sep)
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return t, false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return t, false
			}
		}
		intPart = strings.Join(groups, "")
	}
	if hasFrac {
		return intPart + "." + frac, true
	}
	return intPart, true
}

// FormatNumber writes a number briefly: thousands separated, at most two
// decimals, no trailing zeros ("1,200", "4.5", "-0.25").
func FormatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// FormatValue writes a number with its unit: "95%", "4 h", "$1,200",
// "12 tickets". Units that are symbols hug the number the usual way.
func FormatValue(v float64, unit string) string {
	n := FormatNumber(v)
	switch unit {
	case "":
		return n
	case "$", "€", "£":
		if strings.HasPrefix(n, "-") {
			return "-" + unit + n[1:]
		}
		return unit + n
	case "%":
		return n + "%"
	}
	return n + " " + unit
}

// FormatPercent writes a fraction as a whole percentage: 0.456 → "46%".
func FormatPercent(f float64) string {
	return strconv.Itoa(int(math.Round(f*100))) + "%"
}
