package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"ctjournal/app"
)

// poisonSetter sets a record aside in ctj_poison within the subscriber's
// transaction, for the poison queue, so the record leaves the log's way
// exactly when the offset moves past it.
type poisonSetter struct{ logger watermill.LoggerAdapter }

func (p poisonSetter) setAside(msg *message.Message) error {
	ctx := msg.Context()
	tx := txOf(ctx)
	if tx == nil {
		return errors.New("set a record aside: no subscriber transaction in the message context")
	}
	rec, err := logRecord(msg)
	if err != nil {
		return fmt.Errorf("set a record aside: %w", err)
	}
	if ctx.Err() != nil {
		// The subscriber gave the record up and commits without it.
		return fmt.Errorf("set record %d aside: given up by the subscriber: %w", rec.Position, ctx.Err())
	}
	reason := firstLine(msg.Metadata.Get(middleware.ReasonForPoisonedKey))
	if err := setAside(ctx, tx, rec, errors.New(reason)); err != nil {
		return unavailable(err)
	}
	p.logger.Error("log record set aside (quarantined): the projection goes on without it", errors.New(reason),
		watermill.LogFields{"position": rec.Position})
	return nil
}

// storeTrouble tells the errors of the file or of the subscriber from a
// record's own: those are never a reason to set the record aside.
func storeTrouble(err error) bool {
	if errors.Is(err, app.ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sql.ErrTxDone) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}
