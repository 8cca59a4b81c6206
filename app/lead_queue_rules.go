package app

import (
	"fmt"

	"ctjournal/domain"
)

// GiveUpReason is the reason a LeadGivenUp records for a lead whose
// deadline passed after tries tries.
func GiveUpReason(tries int) string {
	return fmt.Sprintf("not delivered before its deadline after %d tries: given up", tries)
}

// CheckRedeliverable refuses to send a lead again unless it has failed.
func CheckRedeliverable(key domain.LeadKey, status string) error {
	if status != StatusFailed {
		return &StateError{Message: fmt.Sprintf("lead %s is %s; only a failed lead can be sent again", key, status)}
	}
	return nil
}

// StatusAfterTry is the status a try moves its lead to: delivered, failed,
// or none for a transient outcome (the lead stays as it is).
func StatusAfterTry(o domain.TryOutcome) string {
	switch o {
	case domain.Delivered:
		return StatusDelivered
	case domain.Refused:
		return StatusFailed
	}
	return ""
}
