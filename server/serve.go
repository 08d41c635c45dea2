package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/hooklens/hooklens/frontend"
	"github.com/hooklens/hooklens/internal/app"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the server: webhook receiver, API, dashboard",
		run:     serve,
	})
}

func serve(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[flags]")
	noMigrate := fs.Bool("no-migrate", false, "do not migrate the schema at start")
	tokenFile := fs.String("token-file", "", "write the first admin token, when one is created, to this file (mode 0600) instead of stdout, where container logs would keep it")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	// Opened before the token exists: a token nobody can read would lock
	// everyone out, since it is only made when there is none.
	var tokenOut *os.File
	if *tokenFile != "" {
		if tokenOut, err = os.OpenFile(*tokenFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return fmt.Errorf("opening --token-file: %w", err)
		}
		defer tokenOut.Close()
	}
	log := newLogger(e.stderr, cfg)
	log.Info("starting hooklens", "config", cfg)

	a, err := app.New(ctx, cfg, log, app.Options{SkipMigrate: *noMigrate})
	if err != nil {
		return err
	}
	defer a.DB.Close()

	token, err := a.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("creating the first admin token: %w", err)
	}
	if len(cfg.WebhookSecrets) == 0 {
		log.Warn("DWOLLA_WEBHOOK_SECRET is not set: the webhook receiver answers 503 until it is; the dashboard and API work")
	}
	if !frontend.Built() {
		log.Warn("the dashboard is not built into this binary; run `make run` or `make frontend` to build it")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	if cfg.PprofAddr != "" {
		if err := servePprof(ctx, cfg.PprofAddr, log); err != nil {
			return err
		}
	}
	base := cfg.BaseURL()
	// Printed on stdout, never logged: the token is a secret.
	fmt.Fprintf(e.stdout, "hooklens is listening on %s\n", base)
	fmt.Fprintf(e.stdout, "  webhooks:   %s/api/webhooks/dwolla/v2\n", base)
	fmt.Fprintf(e.stdout, "  GraphQL:    %s/graphql  (playground: %s/playground)\n", base, base)
	if token != "" && tokenOut != nil {
		if _, err := fmt.Fprintln(tokenOut, token); err != nil {
			return fmt.Errorf("writing the first admin token to %s: %w", *tokenFile, err)
		}
		if err := tokenOut.Close(); err != nil {
			return fmt.Errorf("writing the first admin token to %s: %w", *tokenFile, err)
		}
		fmt.Fprintf(e.stdout, "\nCreated the first admin token and wrote it to %s; sign in with it at %s/login\n\n", *tokenFile, base)
	} else if token != "" {
		fmt.Fprintf(e.stdout, "\nCreated the first admin token. It is shown only this once; keep it safe:\n\n  %s\n\n", token)
		fmt.Fprintf(e.stdout, "Sign in to the dashboard: %s/login#token=%s\n\n", base, token)
	}
	return a.Serve(ctx, ln)
}

// servePprof serves Go's profiler on its own listener, never on the main
// one: it is unauthenticated and meant for loopback.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	log.Warn("serving the Go profiler (unauthenticated)", "addr", ln.Addr().String())
	return nil
}
