package app

import (
	"errors"
	"fmt"
)

// ErrNotFound: the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable: the store cannot be reached; nothing was stored.
var ErrUnavailable = errors.New("store unavailable")

// ErrInvalidData: the store refused a value of the input (a time or number
// beyond what it holds, U+0000 in text); the input is at fault and nothing
// was stored. Input is checked before it reaches the store, so this is
// the last line, not the rule.
var ErrInvalidData = errors.New("the store cannot hold a value of the input")

// ConflictError refuses a batch because of the event at Index.
type ConflictError struct {
	Index   int
	Message string
}

func (e *ConflictError) Error() string { return fmt.Sprintf("event %d: %s", e.Index, e.Message) }

// StateError refuses an action the thing's current state does not allow.
type StateError struct{ Message string }

func (e *StateError) Error() string { return e.Message }
