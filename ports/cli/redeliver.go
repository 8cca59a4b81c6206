package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"ctjournal/app"
	"ctjournal/domain"
)

var redeliverCommand = command{
	name:    "redeliver",
	usage:   []string{"redeliver KEY"},
	summary: "send a failed lead again (same payload, a new try)",
	about: `Queues the failed lead KEY for delivery again: the same payload, a new
try in its log. Refused for a delivered lead.`,
	flags: func(*flag.FlagSet) action { return redeliver },
}

func redeliver(ctx context.Context, args []string, env Env) error {
	key, err := oneArgument(args, "KEY")
	if err != nil {
		return err
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	err = a.Commands.RedeliverLead.Handle(ctx, domain.LeadKey(key))
	if errors.Is(err, app.ErrNotFound) {
		return fmt.Errorf("no lead with key %s", key)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "lead %s queued for delivery again\n", key)
	return nil
}
