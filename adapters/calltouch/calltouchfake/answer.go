package calltouchfake

import (
	"fmt"
	"net/http"
	"strconv"
)

// Answer is how the fake answers one request. Build one with OK, Status,
// RetryAfter, Hang or Drop.
type Answer struct {
	kind       answerKind
	status     int
	body       string
	retryAfter string
}

type answerKind int

const (
	accept answerKind = iota // the zero Answer is OK
	reply
	hang
	drop
)

// OK answers 200 with {"requestId": n}, n being the request's number at the
// fake (1 for the first request it got). It is the default answer.
func OK() Answer { return Answer{} }

// Status answers with the given HTTP status and body.
func Status(code int, body string) Answer {
	return Answer{kind: reply, status: code, body: body}
}

// RetryAfter answers with the given status (429 or 503, typically) and a
// Retry-After header of that many seconds.
func RetryAfter(code, seconds int) Answer {
	return Answer{
		kind:       reply,
		status:     code,
		body:       fmt.Sprintf(`{"error": %q}`, http.StatusText(code)),
		retryAfter: strconv.Itoa(seconds),
	}
}

// Hang never answers: the request stays open until the client gives up or
// the fake is closed, as a Calltouch that stopped responding would.
func Hang() Answer { return Answer{kind: hang} }

// Drop closes the connection without an answer.
func Drop() Answer { return Answer{kind: drop} }

// unavailable is what FailRate answers its failing share with.
var unavailable = Status(http.StatusServiceUnavailable, `{"error": "Service Unavailable"}`)

// code is the HTTP status the answer gives, 0 when it gives none.
func (a Answer) code() int {
	switch a.kind {
	case accept:
		return http.StatusOK
	case reply:
		return a.status
	}
	return 0
}

// write sends the answer; n is the request's number at the fake.
func (a Answer) write(w http.ResponseWriter, r *http.Request, n int, closing <-chan struct{}) {
	switch a.kind {
	case accept:
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"requestId": %d}`, n))
	case reply:
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		writeJSON(w, a.status, a.body)
	case hang:
		select {
		case <-r.Context().Done():
		case <-closing:
		}
		// Returning alone would let net/http answer 200 for us.
		dropConnection(w)
	case drop:
		dropConnection(w)
	}
}

func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http's own way to cut a response off
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
