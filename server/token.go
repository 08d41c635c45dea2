package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/auth"
)

func init() {
	register(command{
		name:    "token",
		summary: "create, list and revoke API tokens (create|list|revoke)",
		run: func(ctx context.Context, e *env, args []string) error {
			return subcommand(ctx, e, "token", args, map[string]func(context.Context, *env, []string) error{
				"create": tokenCreate,
				"list":   tokenList,
				"revoke": tokenRevoke,
			})
		},
	})
}

func tokenCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token create", "--name NAME --role admin|viewer [--expires 720h] [--output json]")
	name := fs.String("name", "", "what the token is for (required)")
	roleFlag := fs.String("role", "viewer", "admin or viewer")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: never expires)")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	if *name == "" {
		return usageError(e, fs, "--name is required")
	}
	role, err := auth.ParseRole(*roleFlag)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	var exp *time.Time
	if *expires > 0 {
		t := time.Now().Add(*expires)
		exp = &t
	}
	tok, rec, err := auth.NewService(db.Client, cfg.SessionTTL).CreateToken(ctx, *name, role, exp)
	if err != nil {
		return err
	}
	if err := audit.New(db, newLogger(e.stderr, cfg)).RecordCLI(ctx, "token.create", rec.Name,
		map[string]any{"tokenId": rec.ID, "role": string(rec.Role)}); err != nil {
		return fmt.Errorf("the token was created but could not be recorded in the audit trail: %w", err)
	}
	if out.JSON() {
		return writeJSON(e.stdout, struct {
			Token string `json:"token"`
			tokenJSON
		}{tok, newTokenJSON(rec, time.Now())})
	}
	// Only the token on stdout, so scripts can capture it.
	fmt.Fprintln(e.stdout, tok)
	return nil
}

// tokenJSON is a token record as --output json prints it (never the token).
type tokenJSON struct {
	ID         int        `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	// Status is active, expired or revoked.
	Status string `json:"status"`
}

func newTokenJSON(t *ent.APIToken, now time.Time) tokenJSON {
	status := "active"
	switch {
	case t.RevokedAt != nil:
		status = "revoked"
	case t.ExpiresAt != nil && t.ExpiresAt.Before(now):
		status = "expired"
	}
	return tokenJSON{ID: t.ID, Name: t.Name, Role: string(t.Role), Prefix: t.Prefix, CreatedAt: t.CreatedAt,
		LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, Status: status}
}

func tokenList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token list", "[--output json]")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	toks, err := auth.NewService(db.Client, cfg.SessionTTL).ListTokens(ctx)
	if err != nil {
		return err
	}
	if out.JSON() {
		list := make([]tokenJSON, 0, len(toks))
		for _, t := range toks {
			list = append(list, newTokenJSON(t, time.Now()))
		}
		return writeJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tPREFIX\tCREATED\tLAST USED\tSTATUS")
	for _, t := range toks {
		status := "active"
		switch {
		case t.RevokedAt != nil:
			status = "revoked " + t.RevokedAt.Local().Format(time.DateTime)
		case t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()):
			status = "expired"
		case t.ExpiresAt != nil:
			status = "expires " + t.ExpiresAt.Local().Format(time.DateTime)
		}
		last := "never"
		if t.LastUsedAt != nil {
			last = t.LastUsedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Prefix,
			t.CreatedAt.Local().Format(time.DateTime), last, status)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token revoke", "ID|NAME")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(e, fs, "name the token to revoke (its name or id)")
	}
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := auth.NewService(db.Client, cfg.SessionTTL).RevokeToken(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := audit.New(db, newLogger(e.stderr, cfg)).RecordCLI(ctx, "token.revoke", t.Name, map[string]any{"tokenId": t.ID}); err != nil {
		return fmt.Errorf("the token was revoked but could not be recorded in the audit trail: %w", err)
	}
	fmt.Fprintf(e.stdout, "revoked token %d (%s); its dashboard sessions are ended\n", t.ID, t.Name)
	return nil
}
