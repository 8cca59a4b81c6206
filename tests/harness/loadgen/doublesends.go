package loadgen

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// KeyRequests is what the fake Calltouch got for one lead key.
type KeyRequests struct {
	Requests int
	Accepted []Acceptance // each request answered 2xx, in arrival order
}

// Acceptance is one request the fake answered 2xx: when it arrived, and
// the local port of the connection it came over.
type Acceptance struct {
	At   time.Time
	Port int
}

// RequestsPerKey groups the fake's requests by requestNumber.
func RequestsPerKey(reqs []calltouchfake.Request) map[string]*KeyRequests {
	out := map[string]*KeyRequests{}
	for _, r := range reqs {
		key := r.Form.Get("requestNumber")
		k := out[key]
		if k == nil {
			k = &KeyRequests{}
			out[key] = k
		}
		k.Requests++
		if r.Status >= 200 && r.Status < 300 {
			_, port, _ := net.SplitHostPort(r.RemoteAddr)
			p, _ := strconv.Atoi(port)
			k.Accepted = append(k.Accepted, Acceptance{At: r.At, Port: p})
		}
	}
	return out
}

// CrashWindow is how long before a SIGKILL Calltouch may have accepted a
// request whose try the killed serve had not recorded yet: the record's
// transaction follows the answer at once, and lags only on a busy machine.
// killSkew: the fake stamps a request when its handler starts, which on a
// busy machine may be a moment after the kill was stamped although the
// dying process sent it before.
const (
	CrashWindow = 2 * time.Second
	killSkew    = time.Second
)

// DoubleSends counts the keys Calltouch accepted more than once, and of
// them those docs/calltouch.md's window does not explain: a key may be
// accepted again only after a SIGKILL of the serve that sent the first
// acceptance (it came over one of that serve's connections), which came
// at most CrashWindow after it (Calltouch accepted, the process died
// before recording the answer). windows lists, for each explained double
// send, how long before the kill Calltouch had accepted the request whose
// answer went unrecorded.
func DoubleSends(perKey map[string]*KeyRequests, kills []harness.Kill) (doubles int, unexplained []string, windows []time.Duration) {
	for key, k := range perKey {
		if len(k.Accepted) < 2 {
			continue
		}
		doubles++
		for i := 1; i < len(k.Accepted); i++ {
			first, again := k.Accepted[i-1], k.Accepted[i]
			explains := func(x harness.Kill) bool {
				return x.Ports[first.Port] && !first.At.Before(x.At.Add(-CrashWindow)) &&
					!first.At.After(x.At.Add(killSkew)) && !again.At.Before(x.At)
			}
			n := slices.IndexFunc(kills, explains)
			if n < 0 {
				unexplained = append(unexplained, fmt.Sprintf("%s accepted %s; SIGKILLs %s", key, acceptancesText(k.Accepted), killsText(kills)))
				break
			}
			windows = append(windows, kills[n].At.Sub(first.At))
		}
	}
	slices.Sort(unexplained)
	slices.Sort(windows)
	return doubles, unexplained, windows
}

// acceptancesText lists acceptances as time and port.
func acceptancesText(acc []Acceptance) string {
	var out []string
	for _, a := range acc {
		out = append(out, fmt.Sprintf("%s (port %d)", a.At.Format("15:04:05.000"), a.Port))
	}
	return strings.Join(out, ", ")
}

// killsText lists kills as time and the killed serve's ports.
func killsText(kills []harness.Kill) string {
	var out []string
	for _, x := range kills {
		ports := slices.Sorted(maps.Keys(x.Ports))
		out = append(out, fmt.Sprintf("%s (ports %v)", x.At.Format("15:04:05.000"), ports))
	}
	if out == nil {
		return "none"
	}
	return strings.Join(out, ", ")
}
