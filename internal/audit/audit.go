// Package audit keeps hooklens' audit trail: an append-only, hash-chained
// log of mutations, sign-ins, token use, admin actions and retention runs,
// plus periodic checkpoints that chain the stored events' body hashes, so
// that `hooklens audit verify` detects an edited or deleted audit entry and
// an edited, deleted or inserted webhook event.
//
// Each entry has a sequence number (from 1, without gaps) and
// hash = SHA-256(prev_hash ‖ "\n" ‖ canonical entry). Appends are serialised
// by a transaction-scoped advisory lock on PostgreSQL (so several instances
// share one chain) and by the single writer connection on SQLite. Triggers
// (see store's migrations) refuse UPDATE and DELETE on audit_logs; the chain
// catches whoever disables them.
//
// This package must never update or delete an audit entry, and never write
// a secret (token, password, key, webhook secret or body) into one.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vektah/gqlparser/v2/ast"
	"log/slog"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Genesis is the prev_hash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// lockKey is the PostgreSQL advisory lock that serialises appends.
const lockKey int64 = 0x686f6f6b61756474 // "hookaudt"

// Actor kinds, as stored.
const (
	KindToken   = "token"
	KindSession = "session"
	KindSystem  = "system"
	KindCLI     = "cli"
)

// Entry is what to append. Seq, time and hashes are assigned by Append.
type Entry struct {
	Actor        string
	ActorKind    string
	ActorTokenID int
	Action       string
	Target       string
	// Detail is stored as canonical JSON; it must hold no secret.
	Detail     map[string]any
	RemoteAddr string
	RequestID  string
}

// Record is an appended entry.
type Record struct {
	Seq      int64
	At       time.Time
	Entry    Entry
	PrevHash string
	Hash     string
	// detail is the canonical JSON text of Entry.Detail ("null" when none).
	detail string
}

// Trail appends to and verifies the audit trail.
type Trail struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time

	// settle is how old an event must be before a checkpoint covers it:
	// older than any transaction that could still be inserting a lower id.
	settle time.Duration
	// maxPerCheckpoint caps the events one checkpoint entry covers.
	maxPerCheckpoint int

	mu      sync.Mutex
	lastUse map[int]time.Time

	schema *ast.Schema // for redactBySchema; see UseSchema
}

// New returns the trail stored in db.
func New(db *store.DB, log *slog.Logger) *Trail {
	return &Trail{db: db, log: log, now: time.Now, settle: 2 * time.Minute, maxPerCheckpoint: 4096, lastUse: map[int]time.Time{}}
}

// Append adds e at the end of the chain and returns it. It is safe to call
// from several goroutines and, on PostgreSQL, several instances.
func (t *Trail) Append(ctx context.Context, e Entry) (Record, error) {
	tx, err := t.begin(ctx)
	if err != nil {
		return Record{}, err
	}
	defer func() { _ = tx.Rollback() }()
	rec, err := t.appendTx(ctx, tx, e)
	if err != nil {
		return Record{}, err
	}
	if err := tx.Commit(); err != nil {
		return Record{}, fmt.Errorf("committing audit entry: %w", err)
	}
	return rec, nil
}

// begin opens a write transaction holding the append lock.
func (t *Trail) begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := t.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("appending to the audit trail: %w", err)
	}
	if t.db.Postgres() {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("locking the audit trail: %w", err)
		}
	}
	return tx, nil
}

func (t *Trail) appendTx(ctx context.Context, tx *sql.Tx, e Entry) (Record, error) {
	if e.Action == "" || e.Actor == "" {
		return Record{}, errors.New("an audit entry needs an actor and an action")
	}
	switch e.ActorKind {
	case KindToken, KindSession, KindSystem, KindCLI:
	default:
		return Record{}, fmt.Errorf("unknown actor kind %q", e.ActorKind)
	}
	detail, err := canonicalDetail(e.Detail)
	if err != nil {
		return Record{}, err
	}
	var last int64
	prev := Genesis
	err = tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		last, prev = 0, Genesis
	} else if err != nil {
		return Record{}, fmt.Errorf("reading the end of the audit trail: %w", err)
	}
	rec := Record{Seq: last + 1, At: t.now().UTC().Truncate(time.Microsecond), Entry: e, PrevHash: prev, detail: detail}
	rec.Hash = chainHash(prev, rec.canonical())
	var detailArg, tokenArg any
	if detail != "null" {
		detailArg = detail
	}
	if e.ActorTokenID != 0 {
		tokenArg = e.ActorTokenID
	}
	_, err = tx.ExecContext(ctx, t.db.Rebind(`INSERT INTO audit_logs
		(seq, at, actor, actor_kind, actor_token_id, action, target, detail, remote_addr, request_id, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		rec.Seq, rec.At, e.Actor, e.ActorKind, tokenArg, e.Action, nullable(e.Target), detailArg,
		nullable(e.RemoteAddr), nullable(e.RequestID), rec.PrevHash, rec.Hash)
	if err != nil {
		return Record{}, fmt.Errorf("appending audit entry %d: %w", rec.Seq, err)
	}
	return rec, nil
}

// canonicalDetail renders detail as JSON that survives a round trip through
// the database unchanged once re-canonicalised (PostgreSQL's jsonb reorders
// keys and respaces; numbers pass through float64 on both sides).
func canonicalDetail(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "null", nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding audit detail: %w", err)
	}
	return recanonicalise(raw)
}

func recanonicalise(raw []byte) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("decoding audit detail: %w", err)
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return "null", nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding audit detail: %w", err)
	}
	return string(out), nil
}

// canonical is the byte string an entry's hash covers: a JSON array of its
// fields in a fixed order, tagged with the format version.
func (r Record) canonical() []byte {
	b, _ := json.Marshal([]any{
		"hooklens.audit.v1", r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.Entry.Actor, r.Entry.ActorKind,
		r.Entry.ActorTokenID, r.Entry.Action, r.Entry.Target, json.RawMessage(r.detail),
		r.Entry.RemoteAddr, r.Entry.RequestID,
	})
	return b
}

func chainHash(prev string, canonical []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Head returns the last entry's sequence number and hash (0 and Genesis
// for an empty trail). Recording it somewhere else (a ticket, a log
// shipper) anchors the chain: `audit verify --anchor SEQ:HASH` then also
// detects a rewrite of the whole tail.
func (t *Trail) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	hash := Genesis
	err := t.db.Read.QueryRowContext(ctx, "SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("reading the audit trail's head: %w", err)
	}
	return seq, hash, nil
}
