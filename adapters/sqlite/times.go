package sqlite

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// timeLayout is how every time is stored: UTC, fixed width, so that the
// text order of a column is its time order (SQLite has no time type).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ts is t as stored.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// tsOrNil is t as stored, NULL when nil.
func tsOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// stamp scans a stored time; Valid is false for NULL.
type stamp struct {
	Time  time.Time
	Valid bool
}

func (s *stamp) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case nil:
		*s = stamp{}
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	case time.Time:
		*s = stamp{Time: v.UTC(), Valid: true}
		return nil
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return fmt.Errorf("scan time %q: %w", text, err)
	}
	*s = stamp{Time: t.UTC(), Valid: true}
	return nil
}

func (s stamp) Value() (driver.Value, error) {
	if !s.Valid {
		return nil, nil
	}
	return ts(s.Time), nil
}

// ptr is the time, nil for NULL.
func (s stamp) ptr() *time.Time {
	if !s.Valid {
		return nil
	}
	t := s.Time
	return &t
}
