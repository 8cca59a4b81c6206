package nats

import "testing"

func TestCovers(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"ctjournal.events", "ctjournal.events", true},
		{"ctjournal.events", "ctjournal.event", false},
		{"ctjournal.events", "ctjournal.events.a", false},
		{"ctjournal.events.a", "ctjournal.events", false},
		{"ctjournal.*", "ctjournal.events", true},
		{"ctjournal.*", "ctjournal.events.a", false},
		{"ctjournal.*", "ctjournal.*", true},
		{"ctjournal.*", "ctjournal.>", false},
		{"ctjournal.>", "ctjournal.events", true},
		{"ctjournal.>", "ctjournal.events.a.b", true},
		{"ctjournal.>", "ctjournal", false},
		{"ctjournal.>", "ctjournal.*", true},
		{"ctjournal.>", "ctjournal.*.x", true},
		{"ctjournal.>", "ctjournal.>", true},
		{">", "anything.at.all", true},
		{"*.events", "ctjournal.events", true},
		{"*.events", "*.events", true},
		{"ctjournal.events", "ctjournal.*", false},
		{"ctjournal.*.x", "ctjournal.>", false},
		{"ctjournal.events.>", "ctjournal.rejected", false},
	}
	for _, c := range cases {
		if got := covers(c.pattern, c.subject); got != c.want {
			t.Errorf("covers(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

func TestCheckSubject(t *testing.T) {
	for _, ok := range []string{"ctjournal.events", "a", "ctjournal.events.>", "*.x", "a.*.b"} {
		if err := checkSubject(ok, true); err != nil {
			t.Errorf("checkSubject(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", ".a", "a.", "a b", "a.>.b", "a.b*", "a.>x", "a\tb"} {
		if checkSubject(bad, true) == nil {
			t.Errorf("checkSubject(%q) = nil, want an error", bad)
		}
	}
	for _, bad := range []string{"a.*", "a.>"} {
		if checkSubject(bad, false) == nil {
			t.Errorf("checkSubject(%q) without wildcards = nil, want an error", bad)
		}
	}
}
