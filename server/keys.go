package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hooklens/hooklens/internal/audit"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/vault"
	"github.com/hooklens/hooklens/internal/vault/rotate"
)

func init() {
	register(command{
		name:    "keys",
		summary: "encryption at rest: generate a key, show what is sealed, rotate (generate|status|rotate)",
		run: func(ctx context.Context, e *env, args []string) error {
			return subcommand(ctx, e, "keys", args, map[string]func(context.Context, *env, []string) error{
				"generate": keysGenerate,
				"status":   keysStatus,
				"rotate":   keysRotate,
			})
		},
	})
}

// keyring parses the configured HOOKLENS_ENCRYPTION_KEYS (--encryption-keys).
// Errors name the setting, never a key.
func keyring(cfg config.Config) (*vault.Keyring, error) {
	kr, err := vault.ParseKeys(cfg.EncryptionKeys)
	if err != nil {
		return nil, fmt.Errorf("HOOKLENS_ENCRYPTION_KEYS %w", err)
	}
	return kr, nil
}

func keysGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys generate", "[--id ID]")
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "the new key's id")
	if err := parse(fs, args); err != nil {
		return err
	}
	k, err := vault.GenerateKey()
	if err != nil {
		return err
	}
	entry := *id + ":" + k
	if _, err := vault.ParseKeys(entry); err != nil {
		return err
	}
	// Only the entry on stdout, so scripts can capture it.
	fmt.Fprintln(e.stdout, entry)
	fmt.Fprintln(e.stderr, "Put it first in HOOKLENS_ENCRYPTION_KEYS (keep the old keys after it), restart, then run `hooklens keys rotate`.")
	return nil
}

func keysStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys status", "[--output json]")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	kr, err := keyring(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := rotate.Status(ctx, db, kr)
	if err != nil {
		return err
	}
	if out.JSON() {
		rows := func(cs []rotate.EncodingCount) []keyCountJSON {
			out := []keyCountJSON{}
			for _, c := range cs {
				out = append(out, keyCountJSON{Encoding: c.Encoding, Count: c.Count, Readable: c.Readable, Current: c.Encoding == rep.Active})
			}
			return out
		}
		unreadable := rep.Unreadable()
		if unreadable == nil {
			unreadable = []string{}
		}
		if err := writeJSON(e.stdout, keysStatusJSON{Keys: rep.Keys, Active: rep.Active, Events: rows(rep.Events),
			Channels: rows(rep.Channels), Pending: rep.Pending(), Unreadable: unreadable}); err != nil {
			return err
		}
		if len(unreadable) > 0 {
			return fmt.Errorf("%w: %s", rotate.ErrUnreadable, strings.Join(unreadable, ", "))
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "configured keys: %s (new data: %s)\n\n", strings.Join(rep.Keys, ", "), rep.Active)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tENCODING\tCOUNT\tSTATE")
	print := func(what string, cs []rotate.EncodingCount) {
		for _, c := range cs {
			state := "current"
			switch {
			case !c.Readable:
				state = "UNREADABLE: its key is not configured"
			case c.Encoding != rep.Active:
				state = "to rotate"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", what, c.Encoding, c.Count, state)
		}
	}
	print("event bodies", rep.Events)
	print("alert channel secrets", rep.Channels)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%d value(s) to rotate\n", rep.Pending())
	if bad := rep.Unreadable(); len(bad) > 0 {
		return fmt.Errorf("%w: %s", rotate.ErrUnreadable, strings.Join(bad, ", "))
	}
	return nil
}

// keysStatusJSON is `keys status --output json`.
type keysStatusJSON struct {
	Keys       []string       `json:"keys"`
	Active     string         `json:"active"`
	Events     []keyCountJSON `json:"events"`
	Channels   []keyCountJSON `json:"channels"`
	Pending    int            `json:"pending"`
	Unreadable []string       `json:"unreadable"`
}

type keyCountJSON struct {
	Encoding string `json:"encoding"`
	Count    int    `json:"count"`
	Readable bool   `json:"readable"`
	Current  bool   `json:"current"`
}

func keysRotate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys rotate", "[--batch 500]")
	batch := fs.Int("batch", 500, "rows re-sealed per transaction")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	kr, err := keyring(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgressBar(e.stderr, "re-sealing")
	start := time.Now()
	res, err := rotate.Reencrypt(ctx, db, kr, rotate.Options{BatchSize: *batch, Progress: bar})
	bar.Finish()
	trail := audit.New(db, newLogger(e.stderr, cfg))
	detail := map[string]any{"active": kr.ActiveEncoding(), "events": res.Events, "channels": res.Channels}
	if err != nil {
		detail["error"] = err.Error()
	}
	if aerr := trail.RecordCLI(context.WithoutCancel(ctx), "keys.rotate", kr.ActiveEncoding(), detail); aerr != nil {
		fmt.Fprintf(e.stderr, "warning: could not record the rotation in the audit trail: %v\n", aerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "re-sealed %d event bodies and %d alert channel secrets under %s in %s\n",
		res.Events, res.Channels, kr.ActiveEncoding(), time.Since(start).Round(time.Millisecond))
	return nil
}
