// Package rotate re-seals stored data under a keyring's active key — the
// work behind `hooklens keys rotate` — and reports what is stored under
// which key. It lives apart from vault so that vault stays free of the
// database (configuration validates keys with it).
//
// It must never log or print a key or a plaintext, and never write a value
// it could not open first.
package rotate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
)

// Progress receives the progress of a long operation. *jobs.Progress
// satisfies it, so a rotation can run as a background job; the CLI draws a
// bar.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

type noProgress struct{}

func (noProgress) SetTotal(int) {}
func (noProgress) Add(int, int) {}
func (noProgress) Stage(string) {}

// EncodingCount is how many stored values use one encoding.
type EncodingCount struct {
	Encoding string
	Count    int
	// Readable is false when no configured key opens these values.
	Readable bool
}

// Report describes what is stored under which key.
type Report struct {
	// Active is the encoding new data gets.
	Active string
	// Keys lists the configured key ids, the active first.
	Keys []string
	// Events counts webhook bodies per encoding.
	Events []EncodingCount
	// Channels counts sealed alert channel fields per encoding.
	Channels []EncodingCount
}

// Pending is the number of stored values not under the active encoding.
func (r Report) Pending() int {
	n := 0
	for _, c := range append(append([]EncodingCount(nil), r.Events...), r.Channels...) {
		if c.Encoding != r.Active {
			n += c.Count
		}
	}
	return n
}

// Unreadable lists encodings that no configured key opens.
func (r Report) Unreadable() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range append(append([]EncodingCount(nil), r.Events...), r.Channels...) {
		if !c.Readable && !seen[c.Encoding] {
			seen[c.Encoding] = true
			out = append(out, c.Encoding)
		}
	}
	sort.Strings(out)
	return out
}

// StartCheck is what a start checks, without reading every event: the
// encodings stored bodies may use (recorded as they come into use) that no
// configured key opens, and whether some may be under an older key. It
// records the active encoding as in use.
func StartCheck(ctx context.Context, db *store.DB, kr *vault.Keyring) (unreadable []string, older bool, err error) {
	active := kr.ActiveEncoding()
	if err := db.NoteBodyEncoding(ctx, active); err != nil {
		return nil, false, err
	}
	encs, err := db.BodyEncodings(ctx)
	if err != nil {
		return nil, false, err
	}
	for _, e := range encs {
		if !kr.Has(e) {
			unreadable = append(unreadable, e)
		}
		if e != active {
			older = true
		}
	}
	return unreadable, older, nil
}

// Status counts stored values per encoding. Servers should call it at start
// and refuse (or loudly warn) when Unreadable is not empty: some data would
// then be sealed with a key that was removed too early.
func Status(ctx context.Context, db *store.DB, kr *vault.Keyring) (Report, error) {
	r := Report{Active: kr.ActiveEncoding(), Keys: kr.KeyIDs()}
	stored, err := db.CountBodyEncodings(ctx)
	if err != nil {
		return r, err
	}
	for _, c := range stored {
		r.Events = append(r.Events, EncodingCount{Encoding: c.Encoding, Count: c.Count, Readable: kr.Has(c.Encoding)})
	}
	chans, err := loadChannels(ctx, db)
	if err != nil {
		return r, err
	}
	counts := map[string]int{}
	for _, ch := range chans {
		for _, f := range [][]byte{ch.url, ch.secret} {
			if len(f) == 0 {
				continue
			}
			enc, _, err := vault.SplitField(f)
			if err != nil {
				enc = "unrecognised"
			}
			counts[enc]++
		}
	}
	for enc, n := range counts {
		r.Channels = append(r.Channels, EncodingCount{Encoding: enc, Count: n, Readable: kr.Has(enc)})
	}
	sort.Slice(r.Channels, func(i, j int) bool { return r.Channels[i].Encoding < r.Channels[j].Encoding })
	return r, nil
}

func orIdentity(enc string) string {
	if enc == "" {
		return vault.Identity
	}
	return enc
}

// Options tune Reencrypt.
type Options struct {
	// BatchSize is how many rows one transaction re-seals (default 500).
	BatchSize int
	// Progress receives progress (optional).
	Progress Progress
}

// Result counts what Reencrypt re-sealed.
type Result struct {
	Events   int
	Channels int
}

// ErrUnreadable means stored data is sealed with keys that are not
// configured, so it cannot be re-sealed.
var ErrUnreadable = errors.New("stored data is sealed with keys that are not configured")

// Reencrypt re-seals every stored webhook body and alert channel field that
// is not under the active encoding, in batches of BatchSize rows per
// transaction, so it can run while hooklens serves. Each row is updated only
// if its encoding is still the one read (another instance or run may have
// re-sealed it meanwhile), so concurrent runs are harmless; a run stopped
// half way resumes where it was on the next call. Body hashes are of the
// plaintext and do not change, so the audit trail's checkpoints still hold.
//
// It refuses to start when some stored data is sealed with a key the
// keyring lacks (see ErrUnreadable).
func Reencrypt(ctx context.Context, db *store.DB, kr *vault.Keyring, opts Options) (Result, error) {
	var res Result
	p := opts.Progress
	if p == nil {
		p = noProgress{}
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 500
	}
	p.Stage("counting")
	rep, err := Status(ctx, db, kr)
	if err != nil {
		return res, err
	}
	if bad := rep.Unreadable(); len(bad) > 0 {
		return res, fmt.Errorf("%w: %s; add them back to HOOKLENS_ENCRYPTION_KEYS after the active key", ErrUnreadable, strings.Join(bad, ", "))
	}
	p.SetTotal(rep.Pending())
	active := kr.ActiveEncoding()

	p.Stage("events")
	n, err := reencryptEvents(ctx, db, kr, active, batch, p)
	res.Events = n
	if err != nil {
		return res, err
	}
	p.Stage("alert channels")
	n, err = reencryptChannels(ctx, db, kr, p)
	res.Channels = n
	if err != nil {
		return res, err
	}
	// Record the encodings left, so that a start stops asking for the
	// keys the rotation moved the bodies off.
	if _, err := db.CountBodyEncodings(ctx); err != nil {
		return res, err
	}
	p.Stage("done")
	return res, nil
}

type sealedRow struct {
	id       int
	raw      string // the encoding column as stored
	encoding string
	body     []byte
}

func reencryptEvents(ctx context.Context, db *store.DB, kr *vault.Keyring, active string, batch int, p Progress) (int, error) {
	done, after := 0, 0
	sel := db.Rebind("SELECT id, body_encoding, body FROM webhook_events WHERE body_encoding <> ? AND id > ? ORDER BY id LIMIT ?")
	upd := db.Rebind("UPDATE webhook_events SET body = ?, body_encoding = ? WHERE id = ? AND body_encoding = ?")
	for {
		if err := ctx.Err(); err != nil {
			return done, fmt.Errorf("re-sealing event bodies: %w", err)
		}
		rows, err := db.Read.QueryContext(ctx, sel, active, after, batch)
		if err != nil {
			return done, fmt.Errorf("reading event bodies to re-seal: %w", err)
		}
		var page []sealedRow
		for rows.Next() {
			var r sealedRow
			var enc sql.NullString
			if err := rows.Scan(&r.id, &enc, &r.body); err != nil {
				rows.Close()
				return done, fmt.Errorf("reading event bodies to re-seal: %w", err)
			}
			r.raw, r.encoding = enc.String, orIdentity(enc.String)
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return done, fmt.Errorf("reading event bodies to re-seal: %w", err)
		}
		if len(page) == 0 {
			return done, nil
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			return done, fmt.Errorf("re-sealing event bodies: %w", err)
		}
		changed := 0
		for _, r := range page {
			plain, err := kr.Open(r.encoding, r.body)
			if err != nil {
				_ = tx.Rollback()
				return done, fmt.Errorf("event row %d: %w", r.id, err)
			}
			enc, sealed, err := kr.Seal(plain)
			if err != nil {
				_ = tx.Rollback()
				return done, err
			}
			res, err := tx.ExecContext(ctx, upd, sealed, enc, r.id, r.raw)
			if err != nil {
				_ = tx.Rollback()
				return done, fmt.Errorf("re-sealing event row %d: %w", r.id, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed++
			}
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("committing re-sealed event bodies: %w", err)
		}
		done += changed
		p.Add(len(page), 0)
		after = page[len(page)-1].id
	}
}

type channelRow struct {
	id          int
	url, secret []byte
}

func loadChannels(ctx context.Context, db *store.DB) ([]channelRow, error) {
	rows, err := db.Read.QueryContext(ctx, "SELECT id, url_sealed, secret_sealed FROM alert_channels ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("reading alert channels: %w", err)
	}
	defer rows.Close()
	var out []channelRow
	for rows.Next() {
		var c channelRow
		if err := rows.Scan(&c.id, &c.url, &c.secret); err != nil {
			return nil, fmt.Errorf("reading alert channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func reencryptChannels(ctx context.Context, db *store.DB, kr *vault.Keyring, p Progress) (int, error) {
	chans, err := loadChannels(ctx, db)
	if err != nil {
		return 0, err
	}
	active := kr.ActiveEncoding()
	reseal := func(f []byte) ([]byte, bool, error) {
		if len(f) == 0 {
			return f, false, nil
		}
		enc, _, err := vault.SplitField(f)
		if err != nil {
			return nil, false, err
		}
		if enc == active {
			return f, false, nil
		}
		plain, err := kr.OpenField(f)
		if err != nil {
			return nil, false, err
		}
		out, err := kr.SealField(plain)
		return out, true, err
	}
	upd := db.Rebind("UPDATE alert_channels SET url_sealed = ?, secret_sealed = ? WHERE id = ?")
	done := 0
	for _, c := range chans {
		url, u1, err := reseal(c.url)
		if err != nil {
			return done, fmt.Errorf("alert channel %d url: %w", c.id, err)
		}
		secret, u2, err := reseal(c.secret)
		if err != nil {
			return done, fmt.Errorf("alert channel %d secret: %w", c.id, err)
		}
		if !u1 && !u2 {
			continue
		}
		if _, err := db.Write.ExecContext(ctx, upd, url, secret, c.id); err != nil {
			return done, fmt.Errorf("re-sealing alert channel %d: %w", c.id, err)
		}
		n := 0
		if u1 {
			n++
		}
		if u2 {
			n++
		}
		done += n
		p.Add(n, 0)
	}
	return done, nil
}
