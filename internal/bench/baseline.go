package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

// Baseline is what raw batched inserts of a run's rows reach on the same
// kind of database, on the same server or disk, without HTTP, signatures,
// group commit or the pipeline: the ceiling ingest is compared with.
type Baseline struct {
	// Requests are the deliveries inserted: one delivery row each, and one
	// event row per distinct event (repeats raise its delivery count), just
	// what ingest writes.
	Requests int `json:"requests"`
	Events   int `json:"events"`
	// Batch is the requests per transaction, Writers the concurrent
	// transactions (the receiver's default writer count).
	Batch    int     `json:"batch"`
	Writers  int     `json:"writers"`
	ElapsedS float64 `json:"elapsedSeconds"`
	// RequestsPerS is the baseline's delivery rate; EventsPerS its rate of
	// distinct events.
	RequestsPerS float64 `json:"requestsPerSecond"`
	EventsPerS   float64 `json:"eventsPerSecond"`
}

// BaselineBatch is the transaction size of the baseline: DESIGN §5's
// "batches of 100".
const BaselineBatch = 100

// RunBaseline inserts the rows of reqs into the fresh, migrated database
// db, BaselineBatch requests per transaction from writers writers, and
// times it. Parsing is done before the clock starts.
func RunBaseline(ctx context.Context, db *store.DB, reqs []Request, writers int) (Baseline, error) {
	if writers <= 0 {
		writers = 1
	}
	type row struct {
		ev store.NewEvent
		d  store.NewDelivery
	}
	rows := make([]row, 0, len(reqs))
	for _, r := range reqs {
		ev, err := dwolla.ParseEvent(r.Body)
		if err != nil {
			return Baseline{}, fmt.Errorf("parsing a planned payload: %w", err)
		}
		sum := sha256.Sum256(r.Body)
		sha := hex.EncodeToString(sum[:])
		rows = append(rows, row{
			ev: store.NewEvent{
				EventID: ev.ID, Topic: ev.Topic, HeaderTopic: r.Topic, TopicKnown: dwolla.KnownTopic(ev.Topic),
				ResourceType: ev.ResourceType, ResourceID: ev.ResourceID, CustomerID: ev.CustomerID,
				AccountID: ev.AccountID, CorrelationID: ev.CorrelationID, CreatedAt: ev.Created,
				Source: "webhook", Body: r.Body, BodySHA256: sha, BodySize: len(r.Body),
			},
			d: store.NewDelivery{
				RemoteAddr: "127.0.0.1", Outcome: "accepted", StatusCode: 200, LatencyMS: 1,
				BodySize: len(r.Body), BodySHA256: sha, DwollaEventID: ev.ID, TopicHeader: r.Topic,
				UserAgent: dwolla.UserAgent, RequestID: randomHex(8),
			},
		})
	}
	batches := make(chan []row, len(rows)/BaselineBatch+1)
	for start := 0; start < len(rows); start += BaselineBatch {
		batches <- rows[start:min(start+BaselineBatch, len(rows))]
	}
	close(batches)

	write := func(batch []row) error {
		now := time.Now().UTC()
		index := map[string]int{}
		var evs []store.NewEvent
		for _, r := range batch {
			if i, ok := index[r.ev.EventID]; ok {
				evs[i].Deliveries++
				continue
			}
			index[r.ev.EventID] = len(evs)
			ev := r.ev
			ev.Deliveries = 1
			evs = append(evs, ev)
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("beginning transaction: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		stored, err := db.InsertEvents(ctx, tx, now, evs)
		if err != nil {
			return err
		}
		ids := make(map[string]int, len(stored))
		for _, s := range stored {
			ids[s.EventID] = s.ID
		}
		ds := make([]store.NewDelivery, len(batch))
		for i, r := range batch {
			ds[i] = r.d
			ds[i].ReceivedAt = now
			ds[i].WebhookEventID = ids[r.ev.EventID]
		}
		if err := db.InsertDeliveries(ctx, tx, ds); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("committing: %w", err)
		}
		return nil
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := write(b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Baseline{}, fmt.Errorf("baseline inserts: %w", err)
	}
	var events int
	if err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_events").Scan(&events); err != nil {
		return Baseline{}, fmt.Errorf("counting baseline rows: %w", err)
	}
	b := Baseline{Requests: len(rows), Events: events, Batch: BaselineBatch, Writers: writers, ElapsedS: elapsed.Seconds()}
	if b.ElapsedS > 0 {
		b.RequestsPerS = float64(b.Requests) / b.ElapsedS
		b.EventsPerS = float64(b.Events) / b.ElapsedS
	}
	return b, nil
}
