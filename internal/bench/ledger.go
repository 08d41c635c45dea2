package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Ledger is the database side of a run's ledger: what the server stored
// against what it acknowledged.
type Ledger struct {
	// Checked is false when no database was given (a --target run without
	// --database-url): then the run cannot be shown to balance.
	Checked bool `json:"checked"`
	// Balanced is the verdict: the request ledger balances, every
	// acknowledged event is stored, and every stored event was sent.
	Balanced bool `json:"balanced"`
	// UniqueAcked is the number of distinct events acknowledged.
	UniqueAcked int `json:"uniqueAcknowledged"`
	// Stored is the number of distinct sent events found in the database.
	Stored int `json:"stored"`
	// RowsInDatabase counts every event row (-1 when the database was not
	// fresh, so it may hold others' events).
	RowsInDatabase int `json:"rowsInDatabase"`
	// Lost counts acknowledged events missing from the database: it must be 0.
	Lost int `json:"lost"`
	// StoredUnacked counts events stored but never acknowledged; each must
	// have had a delivery that ended without a 200 (a timeout, or a 503
	// after its commit, which Dwolla's retry resolves as a duplicate).
	StoredUnacked int `json:"storedUnacknowledged"`
	// Unexplained counts stored events with no delivery that could explain
	// them: it must be 0.
	Unexplained int `json:"unexplained"`
	// AckedDeliveries and StoredDeliveries compare delivery counts.
	AckedDeliveries  int    `json:"acknowledgedDeliveries"`
	StoredDeliveries int    `json:"storedDeliveries"`
	Reason           string `json:"reason,omitempty"`
}

// eventRow is what the ledger and the end-to-end figures read per event.
type eventRow struct {
	deliveries int
	state      string
	received   time.Time
	processed  time.Time
	batchMS    float64
}

// readEvents reads the rows of ids (in chunks, so any number works): what
// the events table holds of each, then its processing state from
// queueStates.
func readEvents(ctx context.Context, db *store.DB, ids []string) (map[string]eventRow, error) {
	out := make(map[string]eventRow, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := db.Rebind(`SELECT id, event_id, delivery_count, received_at
			FROM webhook_events WHERE event_id IN (` + strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `)`)
		rows, err := db.Read.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("reading stored events: %w", err)
		}
		byRow := map[int]string{}
		var rowIDs []int
		for rows.Next() {
			var rowID int
			var id string
			var r eventRow
			var received any
			if err := rows.Scan(&rowID, &id, &r.deliveries, &received); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading stored events: %w", err)
			}
			if r.received, err = store.ScanTime(received); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = r
			byRow[rowID] = id
			rowIDs = append(rowIDs, rowID)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("reading stored events: %w", err)
		}
		states, err := queueStates(ctx, db, rowIDs)
		if err != nil {
			return nil, err
		}
		for rowID, st := range states {
			id := byRow[rowID]
			r := out[id]
			r.state, r.processed, r.batchMS = st.state, st.processed, st.batchMS
			out[id] = r
		}
	}
	return out, nil
}

// queueState is an event's processing state.
type queueState struct {
	state     string
	processed time.Time
	batchMS   float64
}

// queueStates reads the processing state of the events with row ids
// rowIDs. It is the bench's one read of queue state, so when the storage
// layer moves it, this is what changes (to store.DB.QueueEntries, once the
// queue has its own table).
func queueStates(ctx context.Context, db *store.DB, rowIDs []int) (map[int]queueState, error) {
	out := make(map[int]queueState, len(rowIDs))
	entries, err := db.QueueEntries(ctx, rowIDs)
	if err != nil {
		return nil, err
	}
	for id, e := range entries {
		st := queueState{state: e.State}
		if e.ProcessedAt != nil {
			st.processed = *e.ProcessedAt
		}
		if e.DurationMS != nil {
			st.batchMS = *e.DurationMS
		}
		out[id] = st
	}
	return out, nil
}

// countRows counts every event row.
func countRows(ctx context.Context, db *store.DB) (int, error) {
	var n int
	if err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_events").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting events: %w", err)
	}
	return n, nil
}

// sentEvent is one distinct event of a run, across its requests.
type sentEvent struct {
	acked      bool
	ackedCount int
	unresolved bool // some delivery ended without a 200
}

// tally folds the requests of several sends into distinct events.
func tally(reqs [][]Request, results []*LoadResult) (map[string]*sentEvent, []string) {
	events := map[string]*sentEvent{}
	var order []string
	for k, rs := range reqs {
		res := results[k]
		for i, r := range rs {
			o := res.outcomes[i]
			if o == CutOff {
				continue
			}
			e := events[r.EventID]
			if e == nil {
				e = &sentEvent{}
				events[r.EventID] = e
				order = append(order, r.EventID)
			}
			if o == Acked {
				e.acked = true
				e.ackedCount++
			} else {
				e.unresolved = true
			}
		}
	}
	return events, order
}

// checkLedger compares what was acknowledged with what db holds. fresh
// says the database held nothing before the run.
func checkLedger(events map[string]*sentEvent, rows map[string]eventRow, total int, fresh bool, requestsBalanced bool) Ledger {
	l := Ledger{Checked: true, RowsInDatabase: -1}
	if fresh {
		l.RowsInDatabase = total
	}
	for id, e := range events {
		r, stored := rows[id]
		if e.acked {
			l.UniqueAcked++
			l.AckedDeliveries += e.ackedCount
		}
		if stored {
			l.Stored++
			l.StoredDeliveries += r.deliveries
		}
		switch {
		case e.acked && !stored:
			l.Lost++
		case !e.acked && stored:
			l.StoredUnacked++
			if !e.unresolved {
				l.Unexplained++
			}
		}
	}
	var why []string
	if !requestsBalanced {
		why = append(why, "the request ledger does not balance")
	}
	if l.Lost > 0 {
		why = append(why, fmt.Sprintf("%d acknowledged events are not stored", l.Lost))
	}
	if l.Unexplained > 0 {
		why = append(why, fmt.Sprintf("%d stored events were never acknowledged nor left unanswered", l.Unexplained))
	}
	if fresh && total != l.Stored {
		why = append(why, fmt.Sprintf("the database holds %d events but %d were sent", total, l.Stored))
	}
	if l.Stored != l.UniqueAcked+l.StoredUnacked {
		why = append(why, fmt.Sprintf("%d stored ≠ %d acknowledged + %d stored unacknowledged", l.Stored, l.UniqueAcked, l.StoredUnacked))
	}
	if l.StoredDeliveries < l.AckedDeliveries {
		why = append(why, fmt.Sprintf("%d deliveries counted in the database, fewer than the %d acknowledged", l.StoredDeliveries, l.AckedDeliveries))
	}
	l.Balanced = len(why) == 0
	l.Reason = strings.Join(why, "; ")
	return l
}

// EndToEnd is the receipt → processed time of every acknowledged event,
// from the database: received_at is stamped by the ingest transaction
// (just before its commit and the acknowledgement), processed_at by the
// processing batch that marked it.
type EndToEnd struct {
	// Processed counts acknowledged events in state processed.
	Processed int `json:"processed"`
	// NotProcessed counts acknowledged events still queued, processing or
	// failed when the run ended.
	NotProcessed int `json:"notProcessed"`
	// Latency is processed_at − received_at.
	Latency Stats `json:"latencyMs"`
	// Committed adds the batch's recorded processing time, since
	// processed_at is stamped when the batch starts, before its commit.
	Committed Stats `json:"committedLatencyMs"`
	// DrainS is how long the queue took to empty after the last answer.
	DrainS  float64 `json:"drainSeconds"`
	Drained bool    `json:"drained"`
}

func endToEnd(events map[string]*sentEvent, rows map[string]eventRow) EndToEnd {
	var e EndToEnd
	var lat, committed []time.Duration
	for id, ev := range events {
		if !ev.acked {
			continue
		}
		r, ok := rows[id]
		if !ok || r.state != "processed" || r.processed.IsZero() {
			e.NotProcessed++
			continue
		}
		e.Processed++
		d := r.processed.Sub(r.received)
		lat = append(lat, d)
		committed = append(committed, d+time.Duration(r.batchMS*float64(time.Millisecond)))
	}
	e.Latency = statsOf(lat)
	e.Committed = statsOf(committed)
	return e
}
