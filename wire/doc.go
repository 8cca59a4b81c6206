// Package wire is the JSON form of what crosses ctjournal's edge: the call
// event envelope (an ingest body parsed and validated into domain facts,
// the canonical form the log stores and compares for idempotency, and its
// reading back) and the policy body of PUT /v1/widgets/{id}/calltouch.
// The rules those values obey are domain's; this package only reads and
// writes their bytes, and checks what a store could not hold (U+0000, times
// outside 2000–2100).
package wire
