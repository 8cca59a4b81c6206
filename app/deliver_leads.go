package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"ctjournal/domain"
)

// SiteLimiter spaces the requests to one Calltouch site.
type SiteLimiter interface {
	Wait(ctx context.Context, siteID string) error
}

// DeliveryConfig is how the delivery worker behaves.
type DeliveryConfig struct {
	Owner       string // this process's claim name
	Retry       domain.RetryPolicy
	GiveUpAfter time.Duration
	Lease       time.Duration // how long a claim holds; longer than one try
	Batch       int           // leads claimed per round
	Parallel    int           // tries in flight at once
	// TryTimeout is the longest one request to Calltouch takes. A try
	// starts only while that much of its lease is left: a lead waiting for
	// a slot behind tries that hang, or for the rate limit, is released
	// instead, for a round to claim again, since once the lease lapses
	// another process may claim and send it.
	TryTimeout time.Duration
	// AllowedHosts is checked again before each send: a lead whose server
	// is no longer allowed fails without a request. The zero value allows
	// nothing.
	AllowedHosts domain.HostAllowlist
}

// DeliverLeads sends due leads to Calltouch, one try each, and records
// every try in the log. It is safe to run in several processes at once:
// claims keep a key with one process at a time.
type DeliverLeads struct {
	queue     DeliveryQueue
	policies  PolicyStore
	calltouch Calltouch
	limiter   SiteLimiter
	now       func() time.Time
	jitter    func() float64
	cfg       DeliveryConfig
	log       *slog.Logger
	observe   func(DeliveryTried)
	state     *workerState
}

func NewDeliverLeads(queue DeliveryQueue, policies PolicyStore, ct Calltouch, limiter SiteLimiter,
	now func() time.Time, jitter func() float64, cfg DeliveryConfig, log *slog.Logger, observe func(DeliveryTried)) DeliverLeads {
	return DeliverLeads{queue: queue, policies: policies, calltouch: ct, limiter: limiter,
		now: now, jitter: jitter, cfg: cfg, log: log, observe: observe, state: newWorkerState(cfg.Parallel)}
}

// Handle runs one round: fails leads past their deadline, claims due ones
// and tries each. It returns how many it claimed, so the caller can run the
// next round at once when the batch was full. Once stop ends, leads not yet
// tried are released at once; tries already under way finish and are
// recorded, so no claim is left behind. While a try's record waits for the
// store, it claims nothing (workerState.unrecorded).
func (h DeliverLeads) Handle(stop context.Context) (int, error) {
	ctx := context.WithoutCancel(stop)
	now := h.now()
	if n, err := h.queue.GiveUpExpired(ctx, now); err != nil {
		return 0, fmt.Errorf("give up expired leads: %w", err)
	} else if n > 0 {
		h.log.Warn("leads given up", "count", n)
	}
	if h.state.unrecorded.Load() > 0 {
		return 0, nil
	}
	leaseEnd := now.Add(h.cfg.Lease)
	leads, err := h.queue.Claim(ctx, h.cfg.Owner, now, leaseEnd, h.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim leads: %w", err)
	}
	access := &accessCache{policies: h.policies, byWidget: map[string]StoredPolicy{}}
	var wg sync.WaitGroup
	for _, lead := range leads {
		h.state.slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-h.state.slots }()
			h.tryLogged(stop, ctx, access, lead, leaseEnd)
		})
	}
	wg.Wait()
	return len(leads), nil
}

// tryLogged tries a lead; an error, logged here, leaves the claim to lapse.
func (h DeliverLeads) tryLogged(stop, ctx context.Context, access *accessCache, lead ClaimedLead, leaseEnd time.Time) {
	if err := h.try(stop, ctx, access, lead, leaseEnd); err != nil {
		h.log.Error("delivery try not recorded; the claim will lapse and the lead be tried again",
			"key", lead.Key, "err", err)
	}
}

// try sends one lead. stop cancels only the wait before the send; the send
// and its record run under ctx, which stopping does not cancel.
func (h DeliverLeads) try(stop, ctx context.Context, cache *accessCache, lead ClaimedLead, leaseEnd time.Time) error {
	access, err := cache.policy(ctx, lead.WidgetID)
	if err != nil {
		return errors.Join(fmt.Errorf("access for widget %s: %w", lead.WidgetID, err), h.queue.Release(ctx, h.cfg.Owner, lead.Key))
	}
	if err := h.cfg.AllowedHosts.Check(access.Policy.Server); err != nil {
		return h.refuse(stop, ctx, lead, leaseEnd, err)
	}
	if err := h.limiter.Wait(stop, access.Policy.SiteID); err != nil || stop.Err() != nil ||
		h.now().Add(h.cfg.TryTimeout).After(leaseEnd) {
		return h.queue.Release(ctx, h.cfg.Owner, lead.Key)
	}
	started := h.now()
	answer := h.calltouch.Register(ctx, CalltouchRequest{
		BaseURL: access.Policy.BaseURL(),
		SiteID:  access.Policy.SiteID,
		Token:   access.Policy.Token,
		Body:    lead.Payload.Form(),
	})
	// Calltouch may quote the token back; the log must never hold it.
	tried := DeliveryTried{
		Type: TypeDeliveryTried, Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID,
		Try: lead.Tries + 1, At: started, DurationMS: answer.Duration.Milliseconds(), HTTPStatus: answer.Status,
		Response:  domain.MaskTokenIn(answer.Response, access.Policy.Token),
		Error:     domain.MaskTokenIn(answer.Err, access.Policy.Token),
		RequestID: domain.MaskTokenIn(answer.RequestID, access.Policy.Token),
		Outcome:   domain.ClassifyTry(answer.Status),
	}
	next := started
	if tried.Outcome == domain.Transient {
		next = started.Add(h.cfg.Retry.Delay(tried.Try, answer.RetryAfter, h.jitter()))
		if next.After(lead.DeadlineAt) {
			next = lead.DeadlineAt // the give-up check fails it then
		}
	}
	if err := h.record(stop, ctx, tried, next, leaseEnd); err != nil {
		return fmt.Errorf("record try %d of %s: %w", tried.Try, lead.Key, err)
	}
	h.observe(tried)
	return nil
}

// refuse fails a lead whose policy's server is not allowed, recording why
// as a try that sent nothing.
func (h DeliverLeads) refuse(stop, ctx context.Context, lead ClaimedLead, leaseEnd time.Time, why error) error {
	msg := why.Error()
	var fe *domain.FieldError
	if errors.As(why, &fe) {
		msg = fe.Message
	}
	tried := DeliveryTried{
		Type: TypeDeliveryTried, Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID,
		Try: lead.Tries + 1, At: h.now(), Error: "not sent: the policy's server is not allowed: " + msg,
		Outcome: domain.Refused,
	}
	if err := h.record(stop, ctx, tried, tried.At, leaseEnd); err != nil {
		return fmt.Errorf("record refused try %d of %s: %w", tried.Try, lead.Key, err)
	}
	h.observe(tried)
	return nil
}

// record stores a try, trying again while the store is unavailable (the
// database restarting, say): the answer exists only in memory, and losing
// it sends the lead again — a double send when Calltouch had accepted it.
// While the claim's lease holds nobody else sends the lead, and this
// process's worker claims nothing while a try waits to be recorded, so it
// keeps trying as long as serve is not stopping, and up to the lease's
// end when it is.
func (h DeliverLeads) record(stop, ctx context.Context, tried DeliveryTried, next, leaseEnd time.Time) error {
	wait := 100 * time.Millisecond
	for warned := false; ; warned = true {
		err := h.queue.RecordTry(ctx, h.cfg.Owner, tried, next)
		if err == nil || !errors.Is(err, ErrUnavailable) || (stop.Err() != nil && !h.now().Before(leaseEnd)) {
			return err
		}
		if !warned {
			h.log.Warn("delivery try not recorded yet: the store is unavailable; trying again", "key", tried.Key, "err", err)
			h.state.unrecorded.Add(1)
			defer h.state.unrecorded.Add(-1)
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// Run delivers until ctx ends: a round whenever wake fires (a lead was
// queued or requeued), at least every idle, and at once again after a full
// batch. Errors (the store down, say) are logged and the next round retries.
func (h DeliverLeads) Run(ctx context.Context, wake <-chan struct{}, idle time.Duration) {
	defer h.state.takeHandOvers(ctx)()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		claimed, err := h.Handle(ctx)
		if err != nil && ctx.Err() == nil {
			h.log.Warn("delivery round failed", "err", err)
		}
		next := idle
		if claimed == h.cfg.Batch {
			next = 0
		}
		timer.Reset(next)
	}
}

// accessCache reads each widget's latest policy once per round: the access
// values are read at send time, and a round lasts well under a second.
type accessCache struct {
	policies PolicyStore
	mu       sync.Mutex
	byWidget map[string]StoredPolicy
}

func (c *accessCache) policy(ctx context.Context, widgetID string) (StoredPolicy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byWidget[widgetID]; ok {
		return p, nil
	}
	p, err := c.policies.Policy(ctx, widgetID)
	if err == nil {
		c.byWidget[widgetID] = p
	}
	return p, err
}
