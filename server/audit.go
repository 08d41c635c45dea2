package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hooklens/hooklens/internal/audit"
)

func init() {
	register(command{
		name:    "audit",
		summary: "check the audit trail and the stored events against it (verify|checkpoint)",
		run: func(ctx context.Context, e *env, args []string) error {
			return subcommand(ctx, e, "audit", args, map[string]func(context.Context, *env, []string) error{
				"verify":     auditVerify,
				"checkpoint": auditCheckpoint,
			})
		},
	})
}

// errTampered makes the command exit 1 after its report.
var errTampered = errors.New("the audit trail or the stored events were altered")

func auditVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit verify", "[--anchor SEQ:HASH] [--bodies=false] [--output json]")
	anchor := fs.String("anchor", "", "a SEQ:HASH printed by an earlier verify, recorded elsewhere: detects a rewritten or truncated tail")
	bodies := fs.Bool("bodies", true, "also check every stored body against its SHA-256 (needs the encryption keys)")
	out := outputFlag(fs)
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	opts := audit.VerifyOptions{Bodies: *bodies}
	if *anchor != "" {
		a, err := audit.ParseAnchor(*anchor)
		if err != nil {
			return usageError(e, fs, "%v", err)
		}
		opts.Anchor = &a
	}
	if opts.Keyring, err = keyring(cfg); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.New(db, newLogger(e.stderr, cfg)).Verify(ctx, opts)
	if err != nil {
		return err
	}
	if out.JSON() {
		problems := []verifyProblemJSON{}
		for _, p := range rep.Problems {
			problems = append(problems, verifyProblemJSON{Kind: p.Kind, Seq: p.Seq, EventRowID: p.EventRowID, Detail: p.Detail, Text: p.String()})
		}
		if err := writeJSON(e.stdout, verifyJSON{OK: rep.OK(), Entries: rep.Entries, Checkpoints: rep.Checkpoints,
			EventsChecked: rep.EventsChecked, BodiesChecked: rep.BodiesChecked, BodiesUnreadable: rep.BodiesUnreadable,
			RetiredThrough: rep.RetiredThrough, Anchor: fmt.Sprintf("%d:%s", rep.HeadSeq, rep.Head), Problems: problems}); err != nil {
			return err
		}
		if !rep.OK() {
			return errTampered
		}
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.stdout, p.String())
	}
	fmt.Fprintf(e.stdout, "%d entries, %d checkpoints, %d events checked", rep.Entries, rep.Checkpoints, rep.EventsChecked)
	if *bodies {
		fmt.Fprintf(e.stdout, ", %d bodies checked", rep.BodiesChecked)
	}
	if rep.RetiredThrough > 0 {
		fmt.Fprintf(e.stdout, ", events up to row %d deleted by retention", rep.RetiredThrough)
	}
	fmt.Fprintln(e.stdout)
	if rep.BodiesUnreadable > 0 {
		fmt.Fprintf(e.stdout, "%d bodies are sealed with keys that are not configured and were not checked\n", rep.BodiesUnreadable)
	}
	fmt.Fprintf(e.stdout, "anchor: %d:%s\n", rep.HeadSeq, rep.Head)
	if !rep.OK() {
		fmt.Fprintf(e.stdout, "FAILED: %d problem(s)\n", len(rep.Problems))
		return errTampered
	}
	fmt.Fprintln(e.stdout, "OK")
	return nil
}

// verifyJSON is `audit verify --output json`.
type verifyJSON struct {
	OK               bool                `json:"ok"`
	Entries          int64               `json:"entries"`
	Checkpoints      int                 `json:"checkpoints"`
	EventsChecked    int                 `json:"eventsChecked"`
	BodiesChecked    int                 `json:"bodiesChecked"`
	BodiesUnreadable int                 `json:"bodiesUnreadable"`
	RetiredThrough   int64               `json:"retiredThrough"`
	Anchor           string              `json:"anchor"`
	Problems         []verifyProblemJSON `json:"problems"`
}

type verifyProblemJSON struct {
	Kind       string `json:"kind"`
	Seq        int64  `json:"seq,omitempty"`
	EventRowID int64  `json:"eventRowId,omitempty"`
	Detail     string `json:"detail"`
	Text       string `json:"text"`
}

func auditCheckpoint(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit checkpoint", "[flags]")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := audit.New(db, newLogger(e.stderr, cfg)).Checkpoint(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "checkpointed %d event(s)\n", n)
	return nil
}
