package domain

import "time"

// moscow is the time zone leads are dated in. Moscow has kept UTC+03:00 all
// year since 2014, so a fixed offset is exact and needs no tz database.
var moscow = time.FixedZone("MSK", 3*3600)

const (
	// requestDateLayout is the requestDate format docs/calltouch.md fixes.
	requestDateLayout = "02-01-2006 15:04:05"
	// scheduledLayout dates a deferred call in the comment's details block.
	scheduledLayout = "02.01.2006 15:04"
)
