package pgdb

import (
	"context"
	"database/sql"
	"errors"

	"ctjournal/app"

	"github.com/lib/pq"
)

// errGivenUp is a record the subscriber stopped waiting for (its ack
// deadline passed, or it is closing): the batch commits without it and it
// is polled again.
var ErrGivenUp = errors.New("given up by the subscriber")

// storeTrouble tells an error of the store or of the subscriber's
// transaction (unreachable, restarting, out of resources, a conflict with
// another transaction, a transaction given up) from an error of the record
// itself: only the latter sets a record aside.
func StoreTrouble(err error) bool {
	if errors.Is(err, app.ErrUnavailable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, ErrGivenUp) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		// connection, transaction state (aborted), conflicts (serialization,
		// deadlock), the schema or its privileges, resources, object in use
		// (locks), operator intervention, system and internal errors
		case "08", "25", "40", "42", "53", "55", "57", "58", "XX":
			return true
		}
		return false
	}
	return IsConnectionError(err)
}
