package pgdb

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"

	"ctjournal/app"
)

// What keeps the store out of reach is unavailable (503, tried again);
// what is wrong with a statement is not.
func TestUnavailable_ConnectionRefusalsOnly(t *testing.T) {
	for _, tc := range []struct {
		code        pq.ErrorCode
		message     string
		unavailable bool
	}{
		{"08006", "connection failure", true},
		{"57P01", "terminating connection due to administrator command", true},
		{"57P03", "the database system is starting up", true},
		{"53300", "sorry, too many clients already", true},
		{"3D000", `database "ctj" does not exist`, true},
		{"28P01", `password authentication failed for user "ctj"`, true},
		{"55000", `database "ctj" is not currently accepting connections`, true},
		{"55000", "cannot execute this in a read-only transaction's state", false},
		{"23505", "duplicate key value violates unique constraint", false},
		{"22P02", "invalid input syntax for type uuid", false},
		{"42P01", `relation "ctj_log" does not exist`, false},
	} {
		err := Unavailable(fmt.Errorf("append to log: %w", &pq.Error{Code: tc.code, Message: tc.message}))
		if got := errors.Is(err, app.ErrUnavailable); got != tc.unavailable {
			t.Errorf("%s %q: unavailable %v, want %v", tc.code, tc.message, got, tc.unavailable)
		}
	}
}
