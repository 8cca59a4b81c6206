package httpapi

import (
	"io"
	"net/http"
	"time"
)

// Limits bound how long and how much one client may hold a connection
// (docs/hardening.md, HTTP limits).
type Limits struct {
	Header      time.Duration // the request line and headers must arrive within this
	Body        time.Duration // the whole body within this once the headers are in
	Idle        time.Duration // a keep-alive connection waiting for its next request is closed after this
	Write       time.Duration // the answer's last byte must leave within this of the headers' arrival
	HeaderBytes int           // the request line and headers together, at most
}

// DefaultLimits are docs/api.md's. Write leaves a request the whole Body
// time and as long again to be worked on and answered.
var DefaultLimits = Limits{
	Header:      10 * time.Second,
	Body:        30 * time.Second,
	Idle:        2 * time.Minute,
	Write:       time.Minute,
	HeaderBytes: 64 << 10,
}

// refusalGrace is how long the rest of a body may still be read, and
// dropped, after an answer given before it ended: what the client sent
// meanwhile is then not left unread, which would make the close reset the
// connection, at the risk of the client losing the answer. net/http gives
// its own early answers as long.
const refusalGrace = 500 * time.Millisecond

// headerSlack is what net/http reads beyond Server.MaxHeaderBytes before it
// refuses a request's head with 431.
const headerSlack = 4096

// NewServer is an http.Server serving h within l.
func NewServer(h http.Handler, l Limits) *http.Server {
	return &http.Server{
		Handler:           l.bodyLimits(h),
		ReadHeaderTimeout: l.Header,
		// No ReadTimeout: it would count from the request's first byte,
		// not from the headers' arrival; bodyLimits bounds the body instead.
		IdleTimeout:    l.Idle,
		WriteTimeout:   l.Write,
		MaxHeaderBytes: max(1, l.HeaderBytes-headerSlack),
	}
}

// bodyLimits gives a request's body l.Body to arrive, and closes the
// connection at once after an answer given before the body was read to
// its end: net/http would otherwise read what is left of the body first,
// as slowly as the client cares to send it, before closing or reusing the
// connection.
func (l Limits) bodyLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 { // no body: nothing to bound or to drain
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(l.Body))
		body := &watchedBody{ReadCloser: r.Body}
		r.Body = body
		next.ServeHTTP(&earlyAnswer{ResponseWriter: w, rc: rc, body: body}, r)
	})
}

// watchedBody notes when a request body has been read to its end.
type watchedBody struct {
	io.ReadCloser
	ended bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.ended = true
	}
	return n, err
}

// earlyAnswer makes an answer written before the body ended close the
// connection without reading the rest of the body.
type earlyAnswer struct {
	http.ResponseWriter
	rc       *http.ResponseController
	body     *watchedBody
	answered bool
}

func (a *earlyAnswer) WriteHeader(code int) {
	if !a.answered && code >= http.StatusOK {
		a.answered = true
		if !a.body.ended {
			a.Header().Set("Connection", "close")
			// net/http reads the rest of the body before closing: let it
			// read only what has come within the grace, however slowly
			// the rest is sent. The answer goes out first all the same.
			_ = a.rc.SetReadDeadline(time.Now().Add(refusalGrace))
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *earlyAnswer) Write(p []byte) (int, error) {
	if !a.answered {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (a *earlyAnswer) Unwrap() http.ResponseWriter { return a.ResponseWriter }
