package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

func newTrail(db *store.DB) *Trail {
	return New(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// unprotect drops the append-only triggers, as a database owner bent on
// tampering could.
func unprotect(t *testing.T, db *store.DB) {
	t.Helper()
	var stmts []string
	if db.Postgres() {
		stmts = []string{"ALTER TABLE audit_logs DISABLE TRIGGER USER"}
	} else {
		stmts = []string{"DROP TRIGGER audit_logs_no_update", "DROP TRIGGER audit_logs_no_delete"}
	}
	for _, s := range stmts {
		_, err := db.Write.Exec(s)
		require.NoError(t, err)
	}
}

func kinds(r Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%s@%d/%d", p.Kind, p.Seq, p.EventRowID))
	}
	return out
}

func TestAppendAndVerify(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(db)
		seq, head, err := tr.Head(ctx)
		require.NoError(t, err)
		require.Zero(t, seq)
		require.Equal(t, Genesis, head)

		details := []map[string]any{
			nil,
			{"ids": []any{1, 2.5, 1e20}, "nested": map[string]any{"b": true, "a": nil}, "html": "<a&b>", "utf8": "zürich ✓"},
			{"n": 12345678, "empty": map[string]any{}},
		}
		var last Record
		for i := 0; i < 9; i++ {
			last, err = tr.Append(ctx, Entry{Actor: "admin", ActorKind: KindToken, ActorTokenID: i + 1,
				Action: "mutation.test", Target: fmt.Sprint("t", i), Detail: details[i%3], RemoteAddr: "127.0.0.1", RequestID: "req"})
			require.NoError(t, err)
			require.Equal(t, int64(i+1), last.Seq)
		}
		rep, err := tr.Verify(ctx, VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))
		require.Equal(t, int64(9), rep.Entries)
		require.Equal(t, last.Hash, rep.Head)
		rep, err = tr.Verify(ctx, VerifyOptions{Anchor: &Anchor{Seq: last.Seq, Hash: last.Hash}})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))

		// The triggers refuse edits and deletions outright.
		_, err = db.Write.Exec("UPDATE audit_logs SET actor = 'mallory' WHERE seq = 2")
		require.ErrorContains(t, err, "append-only")
		_, err = db.Write.Exec("DELETE FROM audit_logs WHERE seq = 9")
		require.ErrorContains(t, err, "append-only")
		if db.Postgres() {
			_, err = db.Write.Exec("TRUNCATE audit_logs")
			require.ErrorContains(t, err, "append-only")
		}

		// Without them, every edit and deletion is still reported.
		unprotect(t, db)
		_, err = db.Write.Exec("UPDATE audit_logs SET actor = 'mallory' WHERE seq = 2")
		require.NoError(t, err)
		_, err = db.Write.Exec("DELETE FROM audit_logs WHERE seq = 5")
		require.NoError(t, err)
		// Entry 7 rewritten with a correctly recomputed hash: the next entry
		// still links the original.
		e7 := Record{Seq: 7, Entry: Entry{Actor: "admin", ActorKind: KindToken, ActorTokenID: 99, Action: "mutation.test",
			Target: "t6", RemoteAddr: "127.0.0.1", RequestID: "req"}, detail: "null"}
		var prev string
		require.NoError(t, db.Read.QueryRow("SELECT hash FROM audit_logs WHERE seq = 6").Scan(&prev))
		var at any
		require.NoError(t, db.Read.QueryRow("SELECT at FROM audit_logs WHERE seq = 7").Scan(&at))
		e7.At, err = store.ScanTime(at)
		require.NoError(t, err)
		e7.PrevHash = prev
		e7.Hash = chainHash(prev, e7.canonical())
		_, err = db.Write.Exec(db.Rebind("UPDATE audit_logs SET actor_token_id = 99, detail = NULL, hash = ? WHERE seq = 7"), e7.Hash)
		require.NoError(t, err)
		// The tail (entry 9) deleted: only an anchor tells.
		_, err = db.Write.Exec("DELETE FROM audit_logs WHERE seq = 9")
		require.NoError(t, err)

		rep, err = tr.Verify(ctx, VerifyOptions{Anchor: &Anchor{Seq: last.Seq, Hash: last.Hash}})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{
			"entry_edited@2/0", "entry_missing@5/0", "entry_edited@7/0", "anchor_mismatch@9/0",
		}, kinds(rep))
	})
}

func TestConcurrentAppendsFromSeveralInstances(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		trails := []*Trail{newTrail(db)}
		if db.Postgres() {
			// A second instance: its own pool on the same database.
			other, err := store.Open(ctx, db.URL, store.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { other.Close() })
			trails = append(trails, newTrail(other))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				tr := trails[w%len(trails)]
				for i := 0; i < 15; i++ {
					if _, err := tr.Append(ctx, Entry{Actor: fmt.Sprint("w", w), ActorKind: KindSystem, Action: "test.concurrent"}); err != nil {
						errs <- err
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		rep, err := trails[0].Verify(ctx, VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))
		require.Equal(t, int64(120), rep.Entries)
		require.Equal(t, int64(120), rep.HeadSeq)
	})
}

func insertEvents(t *testing.T, db *store.DB, prefix string, n int, received time.Time) {
	t.Helper()
	ctx := context.Background()
	evs := make([]store.NewEvent, n)
	for i := range evs {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		body := []byte(fmt.Sprintf(`{"id":%q}`, id))
		sum := sha256.Sum256(body)
		evs[i] = store.NewEvent{EventID: id, Topic: "customer_created", CreatedAt: received, Source: "webhook",
			Body: body, BodySHA256: hex.EncodeToString(sum[:]), BodySize: len(body), Deliveries: 1}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = db.InsertEvents(ctx, tx, received, evs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

func TestCheckpointsDetectEventTampering(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(db)
		tr.maxPerCheckpoint = 150
		old := time.Now().Add(-time.Hour)
		insertEvents(t, db, "a", 200, old)
		insertEvents(t, db, "b", 5, time.Now()) // too recent to checkpoint

		n, err := tr.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, 200, n)
		n, err = tr.Checkpoint(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing new is settled")
		rep, err := tr.Verify(ctx, VerifyOptions{Bodies: true})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))
		require.Equal(t, 2, rep.Checkpoints)
		require.Equal(t, 200, rep.EventsChecked)
		require.Equal(t, 205, rep.BodiesChecked)

		var ids []int64
		rows, err := db.Read.Query("SELECT id FROM webhook_events ORDER BY id")
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Close())

		// Delete one, change another's hash, edit a third's body.
		_, err = db.Write.Exec(db.Rebind("DELETE FROM webhook_events WHERE id = ?"), ids[3])
		require.NoError(t, err)
		_, err = db.Write.Exec(db.Rebind("UPDATE webhook_events SET body_sha256 = ? WHERE id = ?"), hex.EncodeToString(make([]byte, 32)), ids[100])
		require.NoError(t, err)
		_, err = db.Write.Exec(db.Rebind("UPDATE webhook_events SET body = ? WHERE id = ?"), []byte(`{"id":"forged"}`), ids[170])
		require.NoError(t, err)

		rep, err = tr.Verify(ctx, VerifyOptions{Bodies: true})
		require.NoError(t, err)
		got := map[string]bool{}
		for _, p := range rep.Problems {
			got[fmt.Sprintf("%s/%d", p.Kind, p.EventRowID)] = true
		}
		require.True(t, got[fmt.Sprintf("%s/%d", EventDeleted, ids[3])], kinds(rep))
		require.True(t, got[fmt.Sprintf("%s/%d", EventEdited, ids[64])], "the block holding row 100: %v", kinds(rep))
		require.True(t, got[fmt.Sprintf("%s/%d", EventBodyMismatch, ids[100])], kinds(rep))
		require.True(t, got[fmt.Sprintf("%s/%d", EventBodyMismatch, ids[170])], kinds(rep))
		require.Len(t, rep.Problems, 4, kinds(rep))

		// A retention run that covers these ranges retires them.
		through, err := tr.CheckpointedThrough(ctx)
		require.NoError(t, err)
		require.Equal(t, ids[199], through)
		_, err = tr.Append(ctx, Entry{Actor: "system", ActorKind: KindSystem, Action: ActionRetention,
			Detail: map[string]any{"through_id": ids[120]}})
		require.NoError(t, err)
		rep, err = tr.Verify(ctx, VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK(), "what retention may have deleted is not reported: %v", kinds(rep))
		_, err = db.Write.Exec(db.Rebind("UPDATE webhook_events SET body_sha256 = ? WHERE id = ?"), hex.EncodeToString(make([]byte, 32)), ids[150])
		require.NoError(t, err)
		rep, err = tr.Verify(ctx, VerifyOptions{})
		require.NoError(t, err)
		require.Len(t, rep.Problems, 1)
		require.Equal(t, EventEdited, rep.Problems[0].Kind)
		require.Equal(t, ids[150], rep.Problems[0].EventRowID, "a block wholly above the retired ids is still compared")
		require.Equal(t, ids[120], rep.RetiredThrough)
		_, err = tr.Append(ctx, Entry{Actor: "system", ActorKind: KindSystem, Action: ActionRetention,
			Detail: map[string]any{"through_id": ids[199]}})
		require.NoError(t, err)
		rep, err = tr.Verify(ctx, VerifyOptions{})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))
		require.Equal(t, ids[199], rep.RetiredThrough)
	})
}

func TestRanges(t *testing.T) {
	t.Parallel()
	ids := []int64{1, 2, 3, 5, 7, 8, 10}
	s := encodeRanges(ids)
	require.Equal(t, "1-3,5,7-8,10", s)
	back, err := decodeRanges(s)
	require.NoError(t, err)
	require.Equal(t, ids, back)
	_, err = decodeRanges("5-1")
	require.Error(t, err)
}

func TestRedact(t *testing.T) {
	t.Parallel()
	got := redact(map[string]any{
		"id": "RXZlbnQ6MQ==", "input": map[string]any{"name": "ops", "url": "https://hooks.slack.com/x", "webhookSecret": "s",
			"definitionKey": "transfer"},
		"token": "hl_abc", "note": "hl_leaked",
	})
	require.Equal(t, map[string]any{
		"id": "RXZlbnQ6MQ==", "input": map[string]any{"name": "ops", "url": "[redacted]", "webhookSecret": "[redacted]",
			"definitionKey": "transfer"},
		"token": "[redacted]", "note": "[redacted]",
	}, got)
}

// insertParsedEvents stores events whose columns are derived from their
// bodies, as the receiver does.
func insertParsedEvents(t *testing.T, db *store.DB, bodies [][]byte, received time.Time) {
	t.Helper()
	ctx := context.Background()
	evs := make([]store.NewEvent, len(bodies))
	for i, body := range bodies {
		ev, err := dwolla.ParseEvent(body)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		evs[i] = store.NewEvent{EventID: ev.ID, Topic: ev.Topic, TopicKnown: true, ResourceType: ev.ResourceType, ResourceID: ev.ResourceID,
			CustomerID: ev.CustomerID, AccountID: ev.AccountID, CorrelationID: ev.CorrelationID, CreatedAt: ev.Created,
			Source: "webhook", Body: body, BodySHA256: hex.EncodeToString(sum[:]), BodySize: len(body), Deliveries: 1}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = db.InsertEvents(ctx, tx, received, evs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

// TestVerifyRederivesColumns is issue 20's finding 7: columns analytics
// read, changed directly on checkpointed events, and a body replaced under
// an unknown key id, all verified OK. Verify now re-derives the columns
// from each body and fails on a key it does not know.
func TestVerifyRederivesColumns(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tr := newTrail(db)
		var bodies [][]byte
		for i := range 6 {
			bodies = append(bodies, fmt.Appendf(nil, `{"id":"ev-%d","topic":"customer_created","created":"2024-03-01T12:00:00.123Z",`+
				`"resourceId":"c-%d","_links":{"resource":{"href":"https://api.dwolla.com/customers/c-%d"},"customer":{"href":"https://api.dwolla.com/customers/c-%d"}}}`, i, i, i, i))
		}
		insertParsedEvents(t, db, bodies, time.Now().Add(-time.Hour))
		_, err := tr.Checkpoint(ctx)
		require.NoError(t, err)
		rep, err := tr.Verify(ctx, VerifyOptions{Bodies: true})
		require.NoError(t, err)
		require.True(t, rep.OK(), kinds(rep))
		require.Equal(t, 6, rep.BodiesChecked)

		var ids []int64
		rows, err := db.Read.Query("SELECT id FROM webhook_events ORDER BY id")
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Close())
		for i, stmt := range []string{
			"UPDATE webhook_events SET topic = 'transfer_failed' WHERE id = ?",
			"UPDATE webhook_events SET resource_type = 'transfers' WHERE id = ?",
			"UPDATE webhook_events SET customer_id = 'someone-else' WHERE id = ?",
			"UPDATE webhook_events SET created_at = created_at - INTERVAL '1 day' WHERE id = ?",
			"UPDATE webhook_events SET body = 'x', body_encoding = 'aes256gcm:nokey' WHERE id = ?",
		} {
			if !db.Postgres() {
				stmt = strings.Replace(stmt, "created_at - INTERVAL '1 day'", "'2020-01-01 00:00:00+00:00'", 1)
			}
			_, err = db.Write.Exec(db.Rebind(stmt), ids[i])
			require.NoError(t, err, stmt)
		}
		rep, err = tr.Verify(ctx, VerifyOptions{Bodies: true})
		require.NoError(t, err)
		got := map[string]bool{}
		for _, p := range rep.Problems {
			got[fmt.Sprintf("%s/%d", p.Kind, p.EventRowID)] = true
		}
		for i := range 4 {
			require.True(t, got[fmt.Sprintf("%s/%d", EventColumnsMismatch, ids[i])], "row %d: %v", i, rep.Problems)
		}
		require.True(t, got[fmt.Sprintf("%s/%d", EventKeyUnknown, ids[4])], "%v", rep.Problems)
		require.Len(t, rep.Problems, 5, "%v", rep.Problems)
	})
}
