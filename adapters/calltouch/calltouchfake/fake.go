// Package calltouchfake is a fake Calltouch for tests: an HTTP server on
// 127.0.0.1 that records every request and answers as it is told
// (docs/calltouch.md, "Tests"). Point a policy's server at URL().
//
// Each request gets, in this order: the next scripted answer (Script), else
// the FailRate failure when it draws one, else the default answer (OK unless
// SetDefault changed it). A request that is not a POST to
// /calls-service/RestAPI/requests/{site_id}/register/ gets 404 and uses
// none of them. Every request is recorded before it is answered.
package calltouchfake

import (
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server is a running fake Calltouch. Its methods are safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	closing   chan struct{} // closed by Close: releases hanging requests
	closeOnce sync.Once

	mu          sync.Mutex
	requests    []Request
	arrived     chan struct{} // closed and replaced whenever a request is recorded
	script      []Answer
	def         Answer
	failPercent int
	failDraw    *rand.Rand
}

// New starts a fake Calltouch on 127.0.0.1 answering OK to every request.
func New() *Server {
	s := &Server{closing: make(chan struct{}), arrived: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the fake's base URL (http://127.0.0.1:port), the policy's server.
func (s *Server) URL() string { return s.srv.URL }

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// Script queues answers for the next requests, after any already queued;
// once they are used up the default answer applies again.
func (s *Server) Script(answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, answers...)
}

// SetDefault sets the answer for requests with no scripted answer.
func (s *Server) SetDefault(a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = a
}

// FailRate makes about percent of the requests with no scripted answer fail
// with 503. The draws come from seed, so the same sequence of requests
// fails the same way on every run. FailRate(0, 0) turns it off.
func (s *Server) FailRate(percent int, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPercent = percent
	s.failDraw = rand.New(rand.NewPCG(seed, seed))
}

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// Count is how many requests the fake has received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// WaitFor waits until the fake has received at least n requests, and reports
// whether it did before the timeout.
func (s *Server) WaitFor(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.requests), s.arrived
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-arrived:
		case <-deadline.C:
			return false
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	// Read the whole body first: a request is recorded as the client sent it,
	// and net/http notices a client hanging up only once the body is read.
	body, _ := io.ReadAll(r.Body)
	req := newRequest(r, string(body), at)

	s.mu.Lock()
	a := s.next(req)
	req.Status = a.code()
	req.Answered = req.Status != 0
	s.requests = append(s.requests, req)
	n := len(s.requests)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()

	a.write(w, r, n, s.closing)
}

// next picks the answer for req; s.mu is held.
func (s *Server) next(req Request) Answer {
	if req.Method != http.MethodPost || req.SiteID == "" {
		return Status(http.StatusNotFound, `{"error": "Not Found"}`)
	}
	if len(s.script) > 0 {
		a := s.script[0]
		s.script = s.script[1:]
		return a
	}
	if s.failPercent > 0 && s.failDraw.IntN(100) < s.failPercent {
		return unavailable
	}
	return s.def
}
