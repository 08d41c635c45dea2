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

	"github.com/hooklens/hooklens/internal/store"
)

// Actions the trail itself writes.
const (
	ActionCheckpoint = "events.checkpoint"
	ActionRetention  = "events.retention"
)

// blockSize is how many events one block digest of a checkpoint covers:
// a mismatch is narrowed down to a block.
const blockSize = 64

// checkpointDetail is the detail of an events.checkpoint entry: the events
// with ids in (FromID, ToID] as they were when it was written.
type checkpointDetail struct {
	FromID int64    `json:"from_id"`
	ToID   int64    `json:"to_id"`
	Count  int      `json:"count"`
	IDs    string   `json:"ids"`    // the ids present, as ranges "1-64,66-70"
	Digest string   `json:"digest"` // SHA-256 over every event line
	Blocks []string `json:"blocks"` // first 16 hex of SHA-256 over each run of blockSize lines
}

// eventLine is what a checkpoint fixes of each event: its row id, Dwolla
// event id and the SHA-256 of its raw body. Processing state and derived
// columns change by design and are not covered.
func eventLine(id int64, eventID, bodySHA string) string {
	return strconv.FormatInt(id, 10) + "|" + eventID + "|" + bodySHA + "\n"
}

type eventRow struct {
	id       int64
	eventID  string
	bodySHA  string
	received time.Time
}

// Checkpoint appends events.checkpoint entries covering every event stored
// since the last checkpoint that is old enough to be settled (older than
// any transaction that could still insert a lower id), at most 4,096
// events per entry. It returns how many events it covered. Run it on a
// schedule (every few minutes); retention runs it before deleting.
func (t *Trail) Checkpoint(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := t.checkpointOnce(ctx)
		total += n
		if err != nil || n < t.maxPerCheckpoint {
			return total, err
		}
	}
}

func (t *Trail) checkpointOnce(ctx context.Context) (int, error) {
	tx, err := t.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	from, err := lastCheckpointTo(ctx, tx)
	if err != nil {
		return 0, err
	}
	cutoff := t.now().UTC().Add(-t.settle)
	rows, err := tx.QueryContext(ctx, t.db.Rebind(
		"SELECT id, event_id, body_sha256, received_at FROM webhook_events WHERE id > ? ORDER BY id LIMIT ?"),
		from, t.maxPerCheckpoint)
	if err != nil {
		return 0, fmt.Errorf("reading events to checkpoint: %w", err)
	}
	var evs []eventRow
	for rows.Next() {
		var r eventRow
		var at any
		if err := rows.Scan(&r.id, &r.eventID, &r.bodySHA, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading events to checkpoint: %w", err)
		}
		if r.received, err = store.ScanTime(at); err != nil {
			rows.Close()
			return 0, err
		}
		// Stop at the first event that is too recent: a lower id may still
		// be committing, and a checkpoint must never miss a row.
		if !r.received.Before(cutoff) {
			break
		}
		evs = append(evs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading events to checkpoint: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	d := digestEvents(from, evs)
	detail, err := toMap(d)
	if err != nil {
		return 0, err
	}
	if _, err := t.appendTx(ctx, tx, Entry{Actor: "system", ActorKind: KindSystem, Action: ActionCheckpoint,
		Target: fmt.Sprintf("events %d–%d", d.FromID+1, d.ToID), Detail: detail}); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing checkpoint: %w", err)
	}
	return len(evs), nil
}

func digestEvents(from int64, evs []eventRow) checkpointDetail {
	d := checkpointDetail{FromID: from, ToID: evs[len(evs)-1].id, Count: len(evs)}
	all := sha256.New()
	ids := make([]int64, len(evs))
	for start := 0; start < len(evs); start += blockSize {
		block := sha256.New()
		for _, e := range evs[start:min(start+blockSize, len(evs))] {
			line := eventLine(e.id, e.eventID, e.bodySHA)
			all.Write([]byte(line))
			block.Write([]byte(line))
		}
		d.Blocks = append(d.Blocks, hex.EncodeToString(block.Sum(nil))[:16])
	}
	for i, e := range evs {
		ids[i] = e.id
	}
	d.IDs = encodeRanges(ids)
	d.Digest = hex.EncodeToString(all.Sum(nil))
	return d
}

// lastCheckpointTo is the highest event id the checkpoints cover.
func lastCheckpointTo(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var raw sql.NullString
	err := q.QueryRowContext(ctx, "SELECT detail FROM audit_logs WHERE action = '"+ActionCheckpoint+"' ORDER BY seq DESC LIMIT 1").Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the last checkpoint: %w", err)
	}
	var d checkpointDetail
	if err := json.Unmarshal([]byte(raw.String), &d); err != nil {
		return 0, fmt.Errorf("reading the last checkpoint: %w", err)
	}
	return d.ToID, nil
}

// CheckpointedThrough returns the highest event id the checkpoints cover
// (0 when there is none). Retention deletes no event above it, so every
// deleted event was fixed by a checkpoint first.
func (t *Trail) CheckpointedThrough(ctx context.Context) (int64, error) {
	return lastCheckpointTo(ctx, t.db.Read)
}

func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding audit detail: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("encoding audit detail: %w", err)
	}
	return m, nil
}

// encodeRanges writes sorted ids as "a-b,c,d-e".
func encodeRanges(ids []int64) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// decodeRanges reads what encodeRanges wrote.
func decodeRanges(s string) ([]int64, error) {
	var out []int64
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad id range %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a || b-a > 1<<20 {
				return nil, fmt.Errorf("bad id range %q", part)
			}
		}
		for id := a; id <= b; id++ {
			out = append(out, id)
		}
	}
	return out, nil
}
