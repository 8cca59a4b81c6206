package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/wire"
)

// deliveryResult is the burst of queued leads reaching the fake Calltouch.
type deliveryResult struct {
	Leads       int     `json:"leads"`
	PerS        float64 `json:"leads_per_s"`       // between the 5th and 95th percentile arrivals
	AllSeconds  float64 `json:"all_seconds"`       // from the release to the last arrival
	HeldTries   int     `json:"held_tries"`        // requests held (unanswered) while the queue filled
	QueuedAtGo  int     `json:"queued_at_release"` // leads pending when the fake was released
	BaselinePer float64 `json:"fake_capacity_per_s"`
	// NewConnections counts the TCP connections to the fake Calltouch that
	// ctjournal closed during the burst (TIME_WAIT sockets): near Leads
	// when each request opened a connection of its own.
	NewConnections int `json:"connections_closed_during_burst"`
}

// delivery measures the delivery worker alone. The fake holds every request
// unanswered (ctjournal gives up on each after CTJ_CALLTOUCH_TIMEOUT and
// retries later) while n orders and their answers are ingested and
// projected, so n leads wait in the queue; then the fake answers 200 and
// the burst is timed at the fake.
func (b *bench) delivery(ctx context.Context, n int) (deliveryResult, error) {
	o := newOrders(b.nextPrefix("del"), leadWidget)
	var pairs []event
	for i := range n {
		ord, ans := o.leadPair(i)
		pairs = append(pairs, ord, ans)
	}
	b.fake.SetDefault(calltouchfake.Hang())
	defer b.fake.SetDefault(calltouchfake.OK())
	heldFrom := b.fake.Count()
	p := startProgress("delivery: queue leads", len(pairs), b.p.progressInterval)
	for chunk := range slices.Chunk(pairs, wire.MaxBatch) {
		if err := b.postEvents(ctx, batchBody(chunk)); err != nil {
			p.end()
			return deliveryResult{}, err
		}
		p.add(len(chunk))
	}
	p.end()
	if _, _, err := b.settle(ctx, "delivery: projection", false, b.p.settleTimeout); err != nil {
		return deliveryResult{}, err
	}
	queued, err := b.store().pendingLeads(ctx)
	if err != nil {
		return deliveryResult{}, err
	}

	res := deliveryResult{Leads: n, QueuedAtGo: queued}
	err = b.cpu("delivery burst", func() error {
		released := time.Now()
		waitingBefore := timeWaitTo(b.fake.URL())
		before := b.fake.Count()
		res.HeldTries = before - heldFrom
		b.fake.SetDefault(calltouchfake.OK())
		p := startProgress("delivery: burst", n, b.p.progressInterval)
		p.extra = func() string { return fmt.Sprintf("received %s", thousands(float64(b.fake.Count()-before))) }
		ok := b.fake.WaitFor(before+n, b.p.settleTimeout)
		p.end()
		res.NewConnections = max(0, timeWaitTo(b.fake.URL())-waitingBefore)
		if !ok {
			return fmt.Errorf("delivery: only %d of %d leads arrived within %s", b.fake.Count()-before, n, b.p.settleTimeout)
		}
		var arrivals []time.Time
		for _, r := range b.fake.Requests()[before:] {
			if r.Status == http.StatusOK && strings.HasPrefix(r.Form.Get("requestNumber"), o.prefix+"-") {
				arrivals = append(arrivals, r.At)
			}
		}
		slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
		if len(arrivals) < 20 {
			return fmt.Errorf("delivery: %d leads arrived", len(arrivals))
		}
		lo, hi := len(arrivals)*5/100, len(arrivals)*95/100
		res.PerS = float64(hi-lo) / arrivals[hi].Sub(arrivals[lo]).Seconds()
		res.AllSeconds = arrivals[len(arrivals)-1].Sub(released).Seconds()
		return nil
	})
	if err != nil {
		return res, err
	}
	res.BaselinePer = b.fakeCapacity(ctx, n)
	say("delivery: %s leads/s (all %d in %.1fs after the release; %d requests held while queueing; %d connections closed; fake alone takes %s/s)",
		thousands(res.PerS), n, res.AllSeconds, res.HeldTries, res.NewConnections, thousands(res.BaselinePer))
	return res, nil
}

// fakeCapacity is the delivery baseline: n register requests posted straight
// to the fake Calltouch by 16 parallel keep-alive clients (ctjournal tries
// 16 leads at once), a typical lead's form as the body.
func (b *bench) fakeCapacity(ctx context.Context, n int) float64 {
	url := b.fake.URL() + "/calls-service/RestAPI/requests/bench/register/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	r := clientRun{label: "delivery: fake alone", clients: 16, ops: n, limit: b.p.settleTimeout, unit: 1, every: b.p.progressInterval}
	t := r.run(ctx, func(ctx context.Context, _, i int) error {
		body := fmt.Sprintf("phoneNumber=79160000000&requestNumber=raw-%d~1&comment=CallKeeper&sessionId=100000", i)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Access-Token", "bench-token-000001")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	})
	return t.PerS
}

// timeWaitTo counts the sockets in TIME_WAIT whose remote end is the port
// of baseURL, from /proc/net/tcp: connections closed by their client side.
func timeWaitTo(baseURL string) int {
	u, err := url.Parse(baseURL)
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st …; st 06 is TIME_WAIT.
		if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "06" {
			n++
		}
	}
	return n
}
