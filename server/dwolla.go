package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/reconcile"
)

func init() {
	register(command{
		name:    "dwolla",
		summary: "Dwolla webhook subscriptions (check|subscribe|subscriptions|pause|unpause|delete)",
		run: func(ctx context.Context, e *env, args []string) error {
			return subcommand(ctx, e, "dwolla", args, map[string]func(context.Context, *env, []string) error{
				"check":         dwollaCheck,
				"subscribe":     dwollaSubscribe,
				"subscriptions": dwollaSubscriptions,
				"pause":         func(ctx context.Context, e *env, a []string) error { return dwollaSetPaused(ctx, e, a, true) },
				"unpause":       func(ctx context.Context, e *env, a []string) error { return dwollaSetPaused(ctx, e, a, false) },
				"delete":        dwollaDelete,
			})
		},
	})
}

// dwollaClient builds the API client from the configuration alone (no
// database needed).
func dwollaClient(cfg config.Config) (*dwolla.Client, error) {
	if !cfg.DwollaConfigured() {
		return nil, errors.New("set DWOLLA_KEY and DWOLLA_SECRET (and DWOLLA_ENV or DWOLLA_API_URL) first")
	}
	return dwolla.NewClient(dwolla.ClientOptions{
		Env: cfg.DwollaEnv, BaseURL: cfg.DwollaAPIURL, Key: cfg.DwollaKey, Secret: cfg.DwollaSecret,
		RequestTimeout: cfg.DwollaAPITimeout, MaxRetryTime: 30 * time.Second,
	})
}

func dwollaSetup(e *env, name, synopsis string, args []string, extra func(*flag.FlagSet)) (config.Config, *dwolla.Client, *flag.FlagSet, error) {
	fs := newFlagSet(e, "dwolla "+name, synopsis)
	if extra != nil {
		extra(fs)
	}
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return cfg, nil, fs, err
	}
	c, err := dwollaClient(cfg)
	return cfg, c, fs, err
}

// checkJSON is `dwolla check --output json`.
type checkJSON struct {
	APIURL string      `json:"apiUrl"`
	OK     bool        `json:"ok"`
	Checks []checkStep `json:"checks"`
}

type checkStep struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func dwollaCheck(ctx context.Context, e *env, args []string) error {
	var out *output
	cfg, c, _, err := dwollaSetup(e, "check", "[--output json]", args, func(fs *flag.FlagSet) { out = outputFlag(fs) })
	if err != nil {
		return err
	}
	res := checkJSON{APIURL: c.BaseURL(), OK: true, Checks: []checkStep{}}
	report := func(name string, good bool, format string, a ...any) {
		res.Checks = append(res.Checks, checkStep{Name: name, OK: good, Detail: fmt.Sprintf(format, a...)})
		res.OK = res.OK && good
	}
	run := func() {
		if _, err := c.Token(ctx); err != nil {
			report("credentials", false, "credentials: %v", err)
			return
		}
		report("credentials", true, "credentials accepted")
		list, err := c.ListWebhookSubscriptions(ctx)
		if err != nil {
			report("api", false, "API reachable: %v", err)
			return
		}
		report("api", true, "API reachable (%d webhook subscription(s))", list.Total)
		want := cfg.WebhookURL()
		var ours *dwolla.WebhookSubscription
		for i, s := range list.Embedded.Subscriptions {
			if reconcile.SameURL(s.URL, want) {
				ours = &list.Embedded.Subscriptions[i]
			}
		}
		switch {
		case ours == nil:
			report("subscribed", false, "subscribed: no subscription delivers to %s (run hooklens dwolla subscribe --url %s)", want, want)
		case ours.Paused:
			report("subscribed", false, "subscription %s is PAUSED: Dwolla sends nothing (hooklens dwolla unpause %s, then reconcile with DWOLLA_AUTO_REDELIVER=true)", ours.ID, ours.ID)
		default:
			report("subscribed", true, "subscription %s delivers to %s and is active", ours.ID, want)
		}
	}
	run()
	if out.JSON() {
		if err := writeJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "Dwolla API: %s\n", res.APIURL)
		for _, s := range res.Checks {
			mark := "ok  "
			if !s.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(e.stdout, "[%s] %s\n", mark, s.Detail)
		}
	}
	if !res.OK {
		return errors.New("the Dwolla check failed")
	}
	return nil
}

// newWebhookSecret makes a strong subscription secret: 256 random bits in
// 43 URL-safe characters (Dwolla allows up to 128).
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func dwollaSubscribe(ctx context.Context, e *env, args []string) error {
	var urlFlag, secretFlag *string
	cfg, c, fs, err := dwollaSetup(e, "subscribe", "--url URL [--secret S]", args, func(fs *flag.FlagSet) {
		urlFlag = fs.String("url", "", "the webhook URL (default: DWOLLA_WEBHOOK_URL or HOOKLENS_PUBLIC_URL + /api/webhooks/dwolla/v2)")
		secretFlag = fs.String("secret", "", "the subscription secret (default: a new strong one)")
	})
	if err != nil {
		return err
	}
	target := *urlFlag
	if target == "" {
		target = cfg.WebhookURL()
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usageError(e, fs, "--url must be an absolute http(s) URL")
	}
	secret := *secretFlag
	generated := secret == ""
	if generated {
		if secret, err = newWebhookSecret(); err != nil {
			return err
		}
	}
	if len(secret) > dwolla.MaxSecretLength {
		return fmt.Errorf("--secret must be at most %d characters", dwolla.MaxSecretLength)
	}
	id, err := c.CreateWebhookSubscription(ctx, target, secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created webhook subscription %s delivering to %s.\n", id, target)
	if generated {
		fmt.Fprintf(e.stdout, "\nSet this where hooklens runs (it is shown only now), then restart it:\n\n  DWOLLA_WEBHOOK_SECRET=%s\n\n", secret)
		fmt.Fprintf(e.stdout, "During a rotation list both, new first: DWOLLA_WEBHOOK_SECRET=%s,<old secret>\n", secret)
	}
	return nil
}

// subscriptionJSON is one row of `dwolla subscriptions --output json`.
type subscriptionJSON struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Paused  bool      `json:"paused"`
	Created time.Time `json:"created"`
	Ours    bool      `json:"ours"`
}

func dwollaSubscriptions(ctx context.Context, e *env, args []string) error {
	var out *output
	cfg, c, _, err := dwollaSetup(e, "subscriptions", "[--output json]", args, func(fs *flag.FlagSet) { out = outputFlag(fs) })
	if err != nil {
		return err
	}
	list, err := c.ListWebhookSubscriptions(ctx)
	if err != nil {
		return err
	}
	if out.JSON() {
		rows := []subscriptionJSON{}
		for _, s := range list.Embedded.Subscriptions {
			rows = append(rows, subscriptionJSON{ID: s.ID, URL: s.URL, Paused: s.Paused, Created: s.Created, Ours: reconcile.SameURL(s.URL, cfg.WebhookURL())})
		}
		return writeJSON(e.stdout, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tPAUSED\tCREATED\tOURS")
	for _, s := range list.Embedded.Subscriptions {
		ours := ""
		if reconcile.SameURL(s.URL, cfg.WebhookURL()) {
			ours = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", s.ID, s.URL, s.Paused, s.Created.Local().Format(time.DateTime), ours)
	}
	return tw.Flush()
}

func dwollaSetPaused(ctx context.Context, e *env, args []string, paused bool) error {
	verb := "unpause"
	if paused {
		verb = "pause"
	}
	_, c, fs, err := dwollaSetup(e, verb, "SUBSCRIPTION_ID", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(e, fs, "give the subscription's id")
	}
	s, err := c.SetWebhookSubscriptionPaused(ctx, fs.Arg(0), paused)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "subscription %s paused=%t\n", s.ID, s.Paused)
	if !paused {
		fmt.Fprintln(e.stdout, "Dwolla does not resend webhooks created while paused: run hooklens reconcile with DWOLLA_AUTO_REDELIVER=true (or hooklens sync).")
	}
	return nil
}

func dwollaDelete(ctx context.Context, e *env, args []string) error {
	var yes *bool
	_, c, fs, err := dwollaSetup(e, "delete", "--yes SUBSCRIPTION_ID", args, func(fs *flag.FlagSet) {
		yes = fs.Bool("yes", false, "confirm: deleting a subscription erases its webhook history at Dwolla")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(e, fs, "give the subscription's id")
	}
	if !*yes {
		return errors.New("deleting a subscription erases its webhook history at Dwolla, so nothing can be redelivered; add --yes to confirm")
	}
	s, err := c.DeleteWebhookSubscription(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted subscription %s (%s)\n", s.ID, s.URL)
	return nil
}
