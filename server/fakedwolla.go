package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

func init() {
	register(command{
		name:    "fake-dwolla",
		summary: "run a fake Dwolla API and webhook sender for demos and tests",
		run:     runFakeDwolla,
	})
}

// faultFlags binds the fake's fault injection to flags.
func faultFlags(fs *flag.FlagSet) *fakedwolla.Faults {
	f := &fakedwolla.Faults{}
	fs.Float64Var(&f.DropFirst, "drop-first", 0, "share of first webhook deliveries lost (recorded as failed attempts, retried on schedule)")
	fs.Float64Var(&f.Duplicate, "duplicates", 0, "share of webhooks delivered twice")
	fs.Float64Var(&f.API429, "api-429", 0, "chance an API request starts a burst of 429 TooManyRequests")
	fs.Float64Var(&f.API500, "api-500", 0, "chance an API request starts a burst of 500 ServerError")
	fs.IntVar(&f.BurstLength, "burst", 3, "requests an error burst lasts")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After of 429 answers")
	fs.Float64Var(&f.Slow, "slow", 0, "share of API answers delayed by --slow-delay")
	fs.DurationVar(&f.SlowDelay, "slow-delay", 2*time.Second, "delay of slow API answers")
	return f
}

func runFakeDwolla(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "fake-dwolla", "--addr 127.0.0.1:9090 --key K --secret S [flags]")
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	key := fs.String("key", "", "client id that POST /token accepts (required)")
	secret := fs.String("secret", "", "client secret that POST /token accepts (required)")
	production := fs.Bool("production", false, "behave like production (5 webhook subscriptions, not 10)")
	tokenTTL := fs.Duration("token-ttl", time.Hour, "lifetime of access tokens")
	timeScale := fs.Float64("time-scale", 1, "run Dwolla's retry schedule and auto-pause clock this many times faster")
	seed := fs.Uint64("seed", 0, "seed for ids, faults and shuffling (0: from the clock)")
	subscribe := fs.String("subscribe", "", "webhook URL to subscribe at start (with --webhook-secret)")
	webhookSecret := fs.String("webhook-secret", "", "secret of the --subscribe subscription")
	simRate := fs.Float64("simulate-rate", 0, "also generate simulated traffic at this many events/s")
	mix := fs.String("mix", "", "simulated traffic mix, e.g. transfer=60,transfer.failed=20 (see docs/dwolla.md)")
	businessDay := fs.Duration("business-day", 2*time.Second, "how long a Dwolla business day lasts in simulated traffic")
	faults := faultFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *secret == "" {
		fmt.Fprintln(e.stderr, "hooklens fake-dwolla: --key and --secret are required")
		fs.Usage()
		return errUsage
	}
	if *timeScale <= 0 || *tokenTTL < time.Second {
		return fmt.Errorf("--time-scale must be positive and --token-ttl at least 1s")
	}
	if (*subscribe == "") != (*webhookSecret == "") {
		return fmt.Errorf("--subscribe and --webhook-secret go together")
	}
	if *subscribe != "" {
		if err := checkWebhookTarget(*subscribe, *webhookSecret); err != nil {
			return err
		}
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := fakedwolla.NewServer(*addr, fakedwolla.Options{
		Key: *key, Secret: *secret, Production: *production, TokenTTL: *tokenTTL,
		TimeScale: *timeScale, Seed: *seed, Faults: *faults, Logger: log.With("component", "fake-dwolla"),
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(e.stdout, "fake Dwolla listening on %s (seed %d); point hooklens at it with DWOLLA_API_URL=%s\n", srv.URL, *seed, srv.URL)
	if *subscribe != "" {
		id, err := srv.Subscribe(*subscribe, *webhookSecret)
		if err != nil {
			return fmt.Errorf("subscribing %s: %w", *subscribe, err)
		}
		fmt.Fprintf(e.stdout, "webhook subscription %s delivers to %s\n", id, *subscribe)
	}
	if *simRate > 0 {
		m, err := simulate.ParseMix(*mix)
		if err != nil {
			return err
		}
		// Journeys go through the fake's own API, so every event's
		// resource exists and agrees with it.
		d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: srv.URL, Key: *key, Secret: *secret, Seed: *seed, Mix: m,
			Logger: log.With("component", "simulate")})
		if err != nil {
			return err
		}
		go func() {
			_ = d.Drive(ctx, simulate.DriveOptions{Rate: *simRate / simulate.EventsPerJourney, BusinessDayLength: *businessDay})
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-srv.Done():
		return fmt.Errorf("serving: %w", err)
	}
	st := srv.Stats()
	fmt.Fprintf(e.stdout, "fake Dwolla stopped: %d events, %d webhooks, %d delivered, %d failed attempts\n",
		st.Events, st.Webhooks, st.Delivered, st.Failed)
	return nil
}

// checkWebhookTarget validates a receiver URL and its secret as Dwolla
// would for a subscription.
func checkWebhookTarget(target, secret string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the webhook URL must be an absolute http(s) URL")
	}
	if secret == "" || len(secret) > dwolla.MaxSecretLength {
		return fmt.Errorf("the webhook secret must be 1 to %d characters", dwolla.MaxSecretLength)
	}
	return nil
}
