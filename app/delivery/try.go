package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// tryLogged tries a lead; an error, logged here, leaves the claim to lapse.
func (w *Worker) tryLogged(stop, ctx context.Context, access *accessCache, lead app.ClaimedLead, leaseEnd time.Time) {
	if err := w.try(stop, ctx, access, lead, leaseEnd); err != nil {
		w.cfg.Log.Error("delivery try not recorded; the claim will lapse and the lead be tried again",
			"key", lead.Key, "err", err)
	}
}

// try sends one lead. stop cancels only the wait before the send; the send
// and its record run under ctx, which stopping does not cancel.
func (w *Worker) try(stop, ctx context.Context, cache *accessCache, lead app.ClaimedLead, leaseEnd time.Time) error {
	access, err := cache.policy(ctx, lead.WidgetID)
	if err != nil {
		return errors.Join(fmt.Errorf("access for widget %s: %w", lead.WidgetID, err), w.queue.Release(ctx, w.cfg.Owner, lead.Key))
	}
	if err := w.cfg.AllowedHosts.Check(access.Policy.Server); err != nil {
		return w.refuse(stop, ctx, lead, leaseEnd, err)
	}
	if err := w.limiter.Wait(stop, access.Policy.SiteID); err != nil || stop.Err() != nil ||
		w.cfg.Now().Add(w.cfg.TryTimeout).After(leaseEnd) {
		return w.queue.Release(ctx, w.cfg.Owner, lead.Key)
	}
	started := w.cfg.Now()
	answer := w.calltouch.Register(ctx, app.CalltouchRequest{
		BaseURL: access.Policy.BaseURL(),
		SiteID:  access.Policy.SiteID,
		Token:   access.Policy.Token,
		Body:    lead.Payload.Form(),
	})
	// Calltouch may quote the token back; the log must never hold it.
	tried := app.DeliveryTried{
		Type: app.TypeDeliveryTried, Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID,
		Try: lead.Tries + 1, At: started, DurationMS: answer.Duration.Milliseconds(), HTTPStatus: answer.Status,
		Response:  domain.MaskTokenIn(answer.Response, access.Policy.Token),
		Error:     domain.MaskTokenIn(answer.Err, access.Policy.Token),
		RequestID: domain.MaskTokenIn(answer.RequestID, access.Policy.Token),
		Outcome:   domain.ClassifyTry(answer.Status),
	}
	next := started
	if tried.Outcome == domain.Transient {
		next = started.Add(w.cfg.Retry.Delay(tried.Try, answer.RetryAfter, w.cfg.Jitter()))
		if next.After(lead.DeadlineAt) {
			next = lead.DeadlineAt // the give-up check fails it then
		}
	}
	if err := w.record(stop, ctx, tried, next, leaseEnd); err != nil {
		return fmt.Errorf("record try %d of %s: %w", tried.Try, lead.Key, err)
	}
	w.cfg.Observe(tried)
	return nil
}

// refuse fails a lead whose policy's server is not allowed, recording why
// as a try that sent nothing.
func (w *Worker) refuse(stop, ctx context.Context, lead app.ClaimedLead, leaseEnd time.Time, why error) error {
	msg := why.Error()
	var fe *domain.FieldError
	if errors.As(why, &fe) {
		msg = fe.Message
	}
	tried := app.DeliveryTried{
		Type: app.TypeDeliveryTried, Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID,
		Try: lead.Tries + 1, At: w.cfg.Now(), Error: "not sent: the policy's server is not allowed: " + msg,
		Outcome: domain.Refused,
	}
	if err := w.record(stop, ctx, tried, tried.At, leaseEnd); err != nil {
		return fmt.Errorf("record refused try %d of %s: %w", tried.Try, lead.Key, err)
	}
	w.cfg.Observe(tried)
	return nil
}

// record stores a try, trying again while the store is unavailable (the
// database restarting, say): the answer exists only in memory, and losing
// it sends the lead again — a double send when Calltouch had accepted it.
// While the claim's lease holds nobody else sends the lead, and this
// process's worker claims nothing while a try waits to be recorded, so it
// keeps trying as long as serve is not stopping, and up to the lease's
// end when it is.
func (w *Worker) record(stop, ctx context.Context, tried app.DeliveryTried, next, leaseEnd time.Time) error {
	wait := 100 * time.Millisecond
	for warned := false; ; warned = true {
		err := w.queue.RecordTry(ctx, w.cfg.Owner, tried, next)
		if err == nil || !errors.Is(err, app.ErrUnavailable) || (stop.Err() != nil && !w.cfg.Now().Before(leaseEnd)) {
			return err
		}
		if !warned {
			w.cfg.Log.Warn("delivery try not recorded yet: the store is unavailable; trying again", "key", tried.Key, "err", err)
			w.state.unrecorded.Add(1)
			defer w.state.unrecorded.Add(-1)
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}
