package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CopyResult is what a finished copy did.
type CopyResult struct {
	Records     int64            // log records copied
	Policies    int              // widgets' policies copied
	Orders      int64            // order→widget ties copied
	Quarantined int              // records still set aside on the target
	Leads       map[string]int64 // leads queued on the target, by status
	Duration    time.Duration
}

// CopyConfig is what a copy needs besides its stores.
type CopyConfig struct {
	// GiveUpAfter is how long a lead is tried before it fails: a pending
	// lead's deadline on the target counts from its decision or its last
	// redelivery request, as on the source.
	GiveUpAfter time.Duration
	Now         func() time.Time
}

// CopyStore copies a store's whole log, with the write side the log does
// not hold (policies with their tokens, order→widget ties) and its
// quarantine, into an empty target; then rebuilds the target's read
// models from the log and fills its delivery queue from them. The source
// is only read.
type CopyStore struct {
	source  StoreSource
	target  StoreTarget
	rebuild RebuildReadModels // the target's
	cfg     CopyConfig
}

func NewCopyStore(source StoreSource, target StoreTarget, targetRebuild RebuildReadModels, cfg CopyConfig) CopyStore {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return CopyStore{source: source, target: target, rebuild: targetRebuild, cfg: cfg}
}

// Handle runs the copy: copying shows on copying, the target's rebuild on
// rebuilding. Whatever stops it after the target was found empty empties
// the target again.
func (h CopyStore) Handle(ctx context.Context, copying, rebuilding RebuildProgress) (res CopyResult, err error) {
	start := h.cfg.Now()
	imp, err := h.target.StartImport(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if err == nil {
			return
		}
		if aErr := imp.Abort(context.WithoutCancel(ctx)); aErr != nil {
			err = errors.Join(err, fmt.Errorf("empty the target again: %w", aErr))
		}
	}()
	exp, err := h.source.Export(ctx)
	if err != nil {
		return res, fmt.Errorf("read the source: %w", err)
	}
	defer exp.Close()

	copying.Started(exp.LogSize())
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		page, err := exp.NextLogPage(ctx)
		if err != nil {
			return res, fmt.Errorf("read the source's log: %w", err)
		}
		if len(page) == 0 {
			break
		}
		if err := imp.WriteLog(ctx, page); err != nil {
			return res, fmt.Errorf("write the target's log: %w", err)
		}
		res.Records += int64(len(page))
		copying.Advanced(len(page))
	}
	copying.Stage("copying policies, orders' widgets and the quarantine")
	if err := h.copyWriteSide(ctx, exp, imp, &res); err != nil {
		return res, err
	}
	// On PostgreSQL the seal waits for every transaction open on the
	// target's server before the copy's last to end: say so, in case one
	// stays open.
	copying.Stage("sealing the target's log, once the transactions open on its server have ended")
	if err := imp.SealLog(ctx); err != nil {
		return res, fmt.Errorf("seal the target's log: %w", err)
	}
	if _, err := h.rebuild.Handle(ctx, rebuilding); err != nil {
		return res, fmt.Errorf("rebuild the target's read models: %w", err)
	}
	rebuilding.Stage("filling the delivery queue from the read models")
	if res.Leads, err = imp.QueueLeads(ctx, h.cfg.GiveUpAfter, h.cfg.Now()); err != nil {
		return res, fmt.Errorf("fill the target's delivery queue: %w", err)
	}
	res.Duration = h.cfg.Now().Sub(start)
	return res, nil
}

func (h CopyStore) copyWriteSide(ctx context.Context, exp StoreExport, imp StoreImport, res *CopyResult) error {
	policies, err := exp.Policies(ctx)
	if err != nil {
		return fmt.Errorf("read the source's policies: %w", err)
	}
	if err := imp.WritePolicies(ctx, policies); err != nil {
		return fmt.Errorf("write the target's policies: %w", err)
	}
	res.Policies = len(policies)
	for after := ""; ; {
		ties, err := exp.OrderWidgetsAfter(ctx, after)
		if err != nil {
			return fmt.Errorf("copy orders' widgets: %w", err)
		}
		if len(ties) == 0 {
			break
		}
		res.Orders += int64(len(ties))
		if err := imp.WriteOrderWidgets(ctx, ties); err != nil {
			return fmt.Errorf("copy orders' widgets: %w", err)
		}
		after = ties[len(ties)-1].OrderID
	}
	aside, err := exp.Quarantined(ctx)
	if err != nil {
		return fmt.Errorf("read the source's quarantine: %w", err)
	}
	if err := imp.SetAside(ctx, aside); err != nil {
		return fmt.Errorf("write the target's quarantine: %w", err)
	}
	res.Quarantined = len(aside)
	return nil
}
