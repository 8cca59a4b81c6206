package nats

import (
	"fmt"
	"strings"
	"unicode"
)

// checkSubject accepts a NATS subject: dot-separated tokens, none empty
// or holding white space; with wildcards, "*" stands for one whole token
// and ">" for one or more as the last token.
func checkSubject(subject string, wildcards bool) error {
	if subject == "" {
		return fmt.Errorf("empty")
	}
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("%q has an empty token", subject)
		case strings.ContainsFunc(t, unicode.IsSpace):
			return fmt.Errorf("%q holds white space", subject)
		case (t == "*" || t == ">") && !wildcards:
			return fmt.Errorf("%q holds a wildcard; a subject published to cannot", subject)
		case t == ">" && i != len(tokens)-1:
			return fmt.Errorf("%q has > before its last token", subject)
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("%q has a wildcard inside a token", subject)
		}
	}
	return nil
}

// checkName accepts a stream or consumer name: no white space, dots,
// wildcards or path separators.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case strings.ContainsFunc(name, unicode.IsSpace) || strings.ContainsAny(name, ".*>/\\"):
		return fmt.Errorf("%q: a NATS name has no white space, '.', '*', '>', '/' or '\\'", name)
	}
	return nil
}

// covers tells whether every subject that subject matches, pattern matches
// too: "a.>" covers "a.b" and "a.*.c", "a.*" covers "a.b" but not "a.>".
func covers(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, pt := range p {
		if pt == ">" {
			return i < len(s)
		}
		if i >= len(s) {
			return false
		}
		switch st := s[i]; {
		case st == ">":
			return false
		case pt == "*":
		case pt != st:
			return false
		}
	}
	return len(p) == len(s)
}

// capturing is the first of patterns that covers subject, if any.
func capturing(patterns []string, subject string) (string, bool) {
	for _, p := range patterns {
		if covers(p, subject) {
			return p, true
		}
	}
	return "", false
}
