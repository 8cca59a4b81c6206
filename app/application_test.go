package app_test

import (
	"strings"
	"testing"

	"ctjournal/app"
)

func TestNewApplication_NamesTheMissingPorts(t *testing.T) {
	_, err := app.NewApplication(app.Ports{}, app.Config{GiveUpAfter: -1})
	if err == nil {
		t.Fatal("an application without ports was built")
	}
	for _, want := range []string{"GiveUpAfter", "EventLog", "Policies", "Rebuild"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
