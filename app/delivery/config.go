package delivery

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// Config is how the delivery worker behaves; zero values take the
// defaults setDefaults gives.
type Config struct {
	Owner string // this process's claim name; required
	Retry domain.RetryPolicy
	// TryTimeout is the longest one request to Calltouch takes. A try
	// starts only while that much of its lease is left: a lead waiting for
	// a slot behind tries that hang, or for the rate limit, is released
	// instead, for a round to claim again, since once the lease lapses
	// another process may claim and send it.
	TryTimeout time.Duration
	Lease      time.Duration // how long a claim holds; longer than one try
	Batch      int           // leads claimed per round
	Parallel   int           // tries in flight at once
	// AllowedHosts is checked again before each send: a lead whose server
	// is no longer allowed fails without a request. The zero value allows
	// nothing.
	AllowedHosts domain.HostAllowlist

	Now     func() time.Time
	Jitter  func() float64 // in [0,1), spreads the retries of leads failing together
	Log     *slog.Logger
	Observe func(app.DeliveryTried) // hears every recorded try
}

func (c *Config) setDefaults() {
	if c.Retry == (domain.RetryPolicy{}) {
		c.Retry = domain.RetryPolicy{Base: time.Second, Max: 5 * time.Minute}
	}
	if c.TryTimeout == 0 {
		c.TryTimeout = 10 * time.Second
	}
	if c.Lease == 0 {
		c.Lease = 2*c.TryTimeout + 5*time.Second // a try plus its record, with room
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.Parallel == 0 {
		c.Parallel = 16
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Observe == nil {
		c.Observe = func(app.DeliveryTried) {}
	}
}

func (c Config) validate() error {
	var errs []error
	if c.Owner == "" {
		errs = append(errs, errors.New("Owner is empty"))
	}
	if c.Retry.Base <= 0 || c.Retry.Max < c.Retry.Base {
		errs = append(errs, fmt.Errorf("Retry %+v: Base must be positive and Max at least Base", c.Retry))
	}
	if c.TryTimeout < 0 {
		errs = append(errs, fmt.Errorf("TryTimeout %s is negative", c.TryTimeout))
	}
	if c.Lease <= c.TryTimeout {
		errs = append(errs, fmt.Errorf("Lease %s is not longer than TryTimeout %s: no try could start", c.Lease, c.TryTimeout))
	}
	if c.Batch < 1 {
		errs = append(errs, fmt.Errorf("Batch %d is below 1", c.Batch))
	}
	if c.Parallel < 1 {
		errs = append(errs, fmt.Errorf("Parallel %d is below 1", c.Parallel))
	}
	return errors.Join(errs...)
}

// validatePorts checks the worker has every port it speaks to.
func validatePorts(p app.Ports) error {
	var errs []error
	for _, port := range []struct {
		name    string
		missing bool
	}{
		{"DeliveryQueue", p.DeliveryQueue == nil},
		{"Policies", p.Policies == nil},
		{"Calltouch", p.Calltouch == nil},
		{"SiteLimiter", p.SiteLimiter == nil},
	} {
		if port.missing {
			errs = append(errs, fmt.Errorf("port %s is missing", port.name))
		}
	}
	return errors.Join(errs...)
}
