package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

func init() {
	register(command{
		name:    "simulate",
		summary: "send realistic, signed Dwolla webhook traffic to a receiver",
		run:     runSimulate,
	})
}

func runSimulate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "simulate", "--target URL --secret S [--rate N] [--duration D] [--seed N] [--mix ...]")
	target := fs.String("target", "", "webhook receiver URL, e.g. http://127.0.0.1:8080/api/webhooks/dwolla/v2 (required)")
	secret := fs.String("secret", "", "webhook secret to sign with (required)")
	rate := fs.Float64("rate", 20, "events per second")
	duration := fs.Duration("duration", time.Minute, "how long to run (0: until interrupted)")
	seed := fs.Uint64("seed", 0, "seed naming the run: the same seed gives the same traffic (0: from the clock)")
	mix := fs.String("mix", "", "traffic mix over the defaults, e.g. transfer=60,transfer.failed=20 (see docs/dwolla.md)")
	businessDay := fs.Duration("business-day", 2*time.Second, "how long a Dwolla business day lasts (time compression)")
	viaFake := fs.String("via-fake", "", "instead of sending directly, run a fake Dwolla on this address, subscribe --target to it and publish the events there")
	fakeKey := fs.String("fake-key", "", "client id the --via-fake API accepts")
	fakeSecret := fs.String("fake-secret", "", "client secret the --via-fake API accepts")
	faults := faultFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *target == "" || *secret == "" {
		fmt.Fprintln(e.stderr, "hooklens simulate: --target and --secret are required")
		fs.Usage()
		return errUsage
	}
	if err := checkWebhookTarget(*target, *secret); err != nil {
		return err
	}
	if *rate <= 0 || *rate > 100000 {
		return fmt.Errorf("--rate must be between 0 and 100000 events/s")
	}
	if *duration < 0 || *businessDay <= 0 {
		return fmt.Errorf("--duration must not be negative and --business-day must be positive")
	}
	m, err := simulate.ParseMix(*mix)
	if err != nil {
		return err
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := simulate.Config{Seed: *seed, Mix: m}
	if *viaFake != "" {
		if *fakeKey == "" || *fakeSecret == "" {
			return fmt.Errorf("--via-fake needs --fake-key and --fake-secret")
		}
		srv, err := fakedwolla.NewServer(*viaFake, fakedwolla.Options{
			Key: *fakeKey, Secret: *fakeSecret, Seed: *seed, Faults: *faults,
			TimeScale: float64(simulate.BusinessDay) / float64(*businessDay),
			Logger:    log.With("component", "fake-dwolla"),
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		if _, err := srv.Subscribe(*target, *secret); err != nil {
			return fmt.Errorf("subscribing %s: %w", *target, err)
		}
		fmt.Fprintf(e.stderr, "simulate: fake Dwolla on %s delivers to %s; journeys go through its API\n", srv.URL, *target)
		// Journeys go through the fake's API, so the resources behind
		// the webhooks exist and agree with them.
		d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: srv.URL, Key: *fakeKey, Secret: *fakeSecret, Seed: *seed, Mix: m, Logger: log})
		if err != nil {
			return err
		}
		if err := d.Drive(ctx, simulate.DriveOptions{Rate: *rate / simulate.EventsPerJourney, BusinessDayLength: *businessDay, Duration: *duration}); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		_ = srv.WaitIdle(wctx)
		ds, st := d.Stats(), srv.Stats()
		fmt.Fprintf(e.stdout, "%d journeys (%d transfers, %d simulations, %d API errors): %d events, %d delivered, %d failed attempts\n",
			ds.Journeys, ds.Transfers, ds.Simulations, ds.Errors, st.Events, st.Delivered, st.Failed)
		return nil
	}
	sink, err := simulate.NewHTTPSink(simulate.HTTPSinkOptions{
		Target: *target, Secret: *secret, BusinessDayLength: *businessDay, Logger: log,
	})
	if err != nil {
		return err
	}
	g, err := simulate.NewGenerator(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "simulate: seed %d, %.1f events/s for %s, a business day lasts %s\n", *seed, *rate, durationText(*duration), *businessDay)
	st, err := simulate.Run(ctx, g, simulate.RunOptions{
		Stream:   simulate.StreamOptions{Rate: *rate, BusinessDayLength: *businessDay, DuplicateShare: faults.Duplicate},
		Duration: *duration, Sink: sink, Progress: e.stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d events (%d duplicates) from %d journeys in %s: %d delivered, %d failed attempts, %d never delivered\n",
		st.Events, st.Duplicates, st.Lifecycles, st.Elapsed.Round(time.Millisecond), st.Sink.Delivered, st.Sink.Failed, st.Sink.GaveUp)
	return nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "ever"
	}
	return d.String()
}
