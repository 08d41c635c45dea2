package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/vault"
)

// Kinds of Problem.
const (
	// EntryMissing: a sequence number is absent (an entry was deleted).
	EntryMissing = "entry_missing"
	// EntryEdited: an entry's content no longer matches its hash, or it was
	// rewritten with a recomputed hash that the next entry does not link.
	EntryEdited = "entry_edited"
	// AnchorMismatch: the entry at the anchor's sequence number does not
	// carry the anchor's hash (the tail was rewritten or truncated).
	AnchorMismatch = "anchor_mismatch"
	// EventDeleted: a checkpointed event is gone, outside retention.
	EventDeleted = "event_deleted"
	// EventInserted: an event appeared inside a checkpointed id range.
	EventInserted = "event_inserted"
	// EventEdited: a checkpointed event's id or body hash changed (narrowed
	// to a block of up to 64 events), or its sealed body fails
	// authentication.
	EventEdited = "event_edited"
	// EventBodyMismatch: an event's body does not hash to its body_sha256.
	EventBodyMismatch = "event_body_mismatch"
	// EventColumnsMismatch: a column hooklens extracted from an event's body
	// (event id, topic, resource, customer, account, correlation, created
	// time) no longer says what the body says. Analytics read the columns,
	// so an edit there changes figures without touching the body.
	EventColumnsMismatch = "event_columns_mismatch"
	// EventKeyUnknown: an event's body names a key that is not configured:
	// a key removed too early, or an encoding edited to hide a replaced body.
	EventKeyUnknown = "event_key_unknown"
)

// Problem is one thing verification found wrong.
type Problem struct {
	Kind string
	// Seq is the audit entry concerned (0 when none).
	Seq int64
	// EventRowID is the webhook_events row concerned (0 when none).
	EventRowID int64
	Detail     string
}

func (p Problem) String() string {
	var where []string
	if p.Seq != 0 {
		where = append(where, "entry "+strconv.FormatInt(p.Seq, 10))
	}
	if p.EventRowID != 0 {
		where = append(where, "event row "+strconv.FormatInt(p.EventRowID, 10))
	}
	return fmt.Sprintf("%s (%s): %s", p.Kind, strings.Join(where, ", "), p.Detail)
}

// Anchor is a sequence number and hash recorded outside the database.
type Anchor struct {
	Seq  int64
	Hash string
}

// ParseAnchor reads SEQ:HASH.
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 {
		return Anchor{}, errors.New("an anchor is SEQ:HASH, as `hooklens audit verify` prints it")
	}
	return Anchor{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Bodies also checks every stored body against its SHA-256, which
	// pinpoints an edited body; sealed bodies need Keyring.
	Bodies  bool
	Keyring *vault.Keyring
	// Anchor, when set, must match the chain.
	Anchor *Anchor
}

// Report is what Verify found.
type Report struct {
	Entries        int64
	HeadSeq        int64
	Head           string
	Checkpoints    int
	RetiredThrough int64 // events up to this id were deleted by retention
	EventsChecked  int
	BodiesChecked  int
	// BodiesUnreadable counts sealed bodies whose key is not configured.
	BodiesUnreadable int
	Problems         []Problem
}

// OK reports whether nothing was found wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

type storedEntry struct {
	Record
	ok bool
}

// Verify walks the whole audit trail and the checkpointed events and
// reports every problem it finds; an error means it could not finish.
func (t *Trail) Verify(ctx context.Context, opts VerifyOptions) (Report, error) {
	var rep Report
	var checkpoints []struct {
		seq int64
		d   checkpointDetail
	}
	prevSeq, prevHash := int64(0), Genesis
	anchorSeen := false
	err := t.eachEntry(ctx, func(e storedEntry, detailRaw string) {
		rep.Entries++
		switch {
		case e.Seq > prevSeq+1:
			rep.Problems = append(rep.Problems, Problem{Kind: EntryMissing, Seq: prevSeq + 1,
				Detail: fmt.Sprintf("entries %d–%d are missing", prevSeq+1, e.Seq-1)})
		case e.Seq <= prevSeq:
			rep.Problems = append(rep.Problems, Problem{Kind: EntryEdited, Seq: e.Seq, Detail: "sequence number out of order"})
		case e.PrevHash != prevHash:
			who := prevSeq
			if who == 0 {
				who = e.Seq
			}
			rep.Problems = append(rep.Problems, Problem{Kind: EntryEdited, Seq: who,
				Detail: "rewritten with a recomputed hash: the next entry links a different one"})
		}
		if !e.ok {
			rep.Problems = append(rep.Problems, Problem{Kind: EntryEdited, Seq: e.Seq,
				Detail: fmt.Sprintf("content (%s by %s) does not match its hash", e.Entry.Action, e.Entry.Actor)})
		}
		if opts.Anchor != nil && e.Seq == opts.Anchor.Seq {
			anchorSeen = true
			if e.Hash != opts.Anchor.Hash {
				rep.Problems = append(rep.Problems, Problem{Kind: AnchorMismatch, Seq: e.Seq, Detail: "the entry's hash differs from the anchor"})
			}
		}
		if e.ok {
			switch e.Entry.Action {
			case ActionCheckpoint:
				var d checkpointDetail
				if json.Unmarshal([]byte(detailRaw), &d) == nil {
					checkpoints = append(checkpoints, struct {
						seq int64
						d   checkpointDetail
					}{e.Seq, d})
				}
			case ActionRetention:
				var d struct {
					ThroughID int64 `json:"through_id"`
				}
				if json.Unmarshal([]byte(detailRaw), &d) == nil && d.ThroughID > rep.RetiredThrough {
					rep.RetiredThrough = d.ThroughID
				}
			}
		}
		if e.Seq > prevSeq {
			prevSeq = e.Seq
		}
		prevHash = e.Hash
	})
	if err != nil {
		return rep, err
	}
	rep.HeadSeq, rep.Head = prevSeq, prevHash
	if opts.Anchor != nil && !anchorSeen {
		rep.Problems = append(rep.Problems, Problem{Kind: AnchorMismatch, Seq: opts.Anchor.Seq,
			Detail: fmt.Sprintf("no entry %d: the trail was truncated", opts.Anchor.Seq)})
	}
	for _, c := range checkpoints {
		rep.Checkpoints++
		if c.d.ToID <= rep.RetiredThrough {
			continue
		}
		n, probs, err := t.verifyCheckpoint(ctx, c.seq, c.d, rep.RetiredThrough)
		if err != nil {
			return rep, err
		}
		rep.EventsChecked += n
		rep.Problems = append(rep.Problems, probs...)
	}
	if opts.Bodies {
		if err := t.verifyBodies(ctx, opts.Keyring, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// eachEntry streams the trail in sequence order.
func (t *Trail) eachEntry(ctx context.Context, fn func(storedEntry, string)) error {
	after := int64(-1 << 62)
	q := t.db.Rebind(`SELECT seq, at, actor, actor_kind, actor_token_id, action, target, detail, remote_addr,
		request_id, prev_hash, hash FROM audit_logs WHERE seq > ? ORDER BY seq LIMIT 1000`)
	for {
		rows, err := t.db.Read.QueryContext(ctx, q, after)
		if err != nil {
			return fmt.Errorf("reading the audit trail: %w", err)
		}
		n := 0
		for rows.Next() {
			var e storedEntry
			var at any
			var tokenID sql.NullInt64
			var target, detail, remote, reqID sql.NullString
			if err := rows.Scan(&e.Seq, &at, &e.Entry.Actor, &e.Entry.ActorKind, &tokenID, &e.Entry.Action, &target,
				&detail, &remote, &reqID, &e.PrevHash, &e.Hash); err != nil {
				rows.Close()
				return fmt.Errorf("reading the audit trail: %w", err)
			}
			if e.At, err = store.ScanTime(at); err != nil {
				rows.Close()
				return err
			}
			e.Entry.ActorTokenID = int(tokenID.Int64)
			e.Entry.Target, e.Entry.RemoteAddr, e.Entry.RequestID = target.String, remote.String, reqID.String
			e.detail = "null"
			if detail.Valid && detail.String != "" {
				if c, err := recanonicalise([]byte(detail.String)); err == nil {
					e.detail = c
				} else {
					e.detail = "\"unreadable\""
				}
			}
			e.ok = chainHash(e.PrevHash, e.canonical()) == e.Hash
			fn(e, e.detail)
			after = e.Seq
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading the audit trail: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// verifyCheckpoint compares the events of one checkpoint with what is
// stored now. Events up to retired may have been deleted by retention:
// their absence is not a problem, and blocks holding them cannot be
// compared.
func (t *Trail) verifyCheckpoint(ctx context.Context, seq int64, d checkpointDetail, retired int64) (int, []Problem, error) {
	expected, err := decodeRanges(d.IDs)
	if err != nil {
		return 0, []Problem{{Kind: EntryEdited, Seq: seq, Detail: "checkpoint detail unreadable: " + err.Error()}}, nil
	}
	rows, err := t.db.Read.QueryContext(ctx, t.db.Rebind(
		"SELECT id, event_id, body_sha256 FROM webhook_events WHERE id > ? AND id <= ? ORDER BY id"), d.FromID, d.ToID)
	if err != nil {
		return 0, nil, fmt.Errorf("reading checkpointed events: %w", err)
	}
	current := map[int64]string{}
	for rows.Next() {
		var id int64
		var eid, sum string
		if err := rows.Scan(&id, &eid, &sum); err != nil {
			rows.Close()
			return 0, nil, fmt.Errorf("reading checkpointed events: %w", err)
		}
		current[id] = eventLine(id, eid, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("reading checkpointed events: %w", err)
	}
	var probs []Problem
	want := map[int64]bool{}
	for _, id := range expected {
		want[id] = true
		if _, ok := current[id]; !ok && id > retired {
			probs = append(probs, Problem{Kind: EventDeleted, Seq: seq, EventRowID: id, Detail: "checkpointed event is gone"})
		}
	}
	for id := range current {
		if !want[id] {
			probs = append(probs, Problem{Kind: EventInserted, Seq: seq, EventRowID: id, Detail: "event inserted into an already checkpointed id range"})
		}
	}
	for b := 0; b*blockSize < len(expected); b++ {
		ids := expected[b*blockSize : min((b+1)*blockSize, len(expected))]
		h := sha256.New()
		complete := true
		for _, id := range ids {
			line, ok := current[id]
			if !ok {
				complete = false
				break
			}
			h.Write([]byte(line))
		}
		if !complete || b >= len(d.Blocks) || ids[0] <= retired {
			continue
		}
		if hex.EncodeToString(h.Sum(nil))[:16] != d.Blocks[b] {
			probs = append(probs, Problem{Kind: EventEdited, Seq: seq, EventRowID: ids[0],
				Detail: fmt.Sprintf("the event id or body hash of one or more of event rows %d–%d changed", ids[0], ids[len(ids)-1])})
		}
	}
	return len(current), probs, nil
}

func (t *Trail) verifyBodies(ctx context.Context, kr *vault.Keyring, rep *Report) error {
	after := int64(0)
	q := t.db.Rebind("SELECT id, body_encoding, body, body_sha256, event_id, topic, resource_type, resource_id, customer_id, " +
		"account_id, correlation_id, created_at FROM webhook_events WHERE id > ? ORDER BY id LIMIT 500")
	for {
		rows, err := t.db.Read.QueryContext(ctx, q, after)
		if err != nil {
			return fmt.Errorf("reading event bodies: %w", err)
		}
		n := 0
		for rows.Next() {
			var id int64
			var enc sql.NullString
			var body []byte
			var sum string
			var cols extracted
			if err := rows.Scan(&id, &enc, &body, &sum, &cols.eventID, &cols.topic, &cols.resourceType, &cols.resourceID,
				&cols.customerID, &cols.accountID, &cols.correlationID, &cols.created); err != nil {
				rows.Close()
				return fmt.Errorf("reading event bodies: %w", err)
			}
			after, n = id, n+1
			plain, err := kr.Open(enc.String, body)
			switch {
			case errors.Is(err, vault.ErrUnknownKey):
				rep.BodiesUnreadable++
				rep.Problems = append(rep.Problems, Problem{Kind: EventKeyUnknown, EventRowID: id,
					Detail: fmt.Sprintf("the body is sealed as %q, with a key that is not configured: add the key back, or the encoding was edited", enc.String)})
				continue
			case err != nil:
				rep.Problems = append(rep.Problems, Problem{Kind: EventEdited, EventRowID: id, Detail: "stored body: " + err.Error()})
				continue
			}
			rep.BodiesChecked++
			got := sha256.Sum256(plain)
			if hex.EncodeToString(got[:]) != sum {
				rep.Problems = append(rep.Problems, Problem{Kind: EventBodyMismatch, EventRowID: id, Detail: "the body does not hash to body_sha256"})
				continue
			}
			if diff := cols.differences(plain); len(diff) > 0 {
				rep.Problems = append(rep.Problems, Problem{Kind: EventColumnsMismatch, EventRowID: id,
					Detail: "columns that no longer match the body: " + strings.Join(diff, ", ")})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading event bodies: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// extracted holds the columns the receiver derived from an event's body.
type extracted struct {
	eventID, topic                                                 string
	resourceType, resourceID, customerID, accountID, correlationID sql.NullString
	created                                                        any
}

// differences names the columns that disagree with what body derives to.
// A body that does not parse as an event (bodies stored before a parser
// change, test fixtures) is not compared: nothing can be derived from it.
func (c extracted) differences(body []byte) []string {
	ev, err := dwolla.ParseEvent(body)
	if err != nil {
		return nil
	}
	var diff []string
	for _, f := range []struct {
		name, col, want string
	}{
		{"event_id", c.eventID, ev.ID}, {"topic", c.topic, ev.Topic},
		{"resource_type", c.resourceType.String, ev.ResourceType}, {"resource_id", c.resourceID.String, ev.ResourceID},
		{"customer_id", c.customerID.String, ev.CustomerID}, {"account_id", c.accountID.String, ev.AccountID},
		{"correlation_id", c.correlationID.String, ev.CorrelationID},
	} {
		if f.col != f.want {
			diff = append(diff, f.name)
		}
	}
	if at, ok := asTime(c.created); ok && !at.Truncate(time.Millisecond).Equal(ev.Created.Truncate(time.Millisecond)) {
		diff = append(diff, "created_at")
	}
	return diff
}

// asTime reads a time column as the drivers return it: a time.Time, or text
// in one of SQLite's layouts.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case []byte:
		return asTime(string(x))
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
