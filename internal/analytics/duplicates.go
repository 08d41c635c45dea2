package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/store"
)

// Duplicates splits the webhook deliveries of a period that hooklens
// answered "duplicate" by cause. It is the one definition of the duplicate
// rate: the reconciliation finding, its run statistics and the overview all
// use it (the overview takes the delivery counts from the rollups and the
// split from CountAfterImport).
type Duplicates struct {
	// Accepted counts deliveries stored as new events; Duplicates those
	// whose event was here already.
	Accepted, Duplicates int
	// AfterImport counts duplicates that were the first webhook of an event
	// a sync or reconciliation had imported (Dwolla's first delivery, late
	// or never made before the import); Redeliveries the rest, Dwolla
	// sending an event that had come by webhook before.
	AfterImport, Redeliveries int
}

// RedeliveryRate is redeliveries over webhook deliveries (accepted and
// duplicate), 0 without deliveries.
func (d Duplicates) RedeliveryRate() float64 {
	if d.Accepted+d.Duplicates == 0 {
		return 0
	}
	return float64(d.Redeliveries) / float64(d.Accepted+d.Duplicates)
}

// CountDuplicates counts the deliveries received in [from, to) by cause.
// A duplicate is "after import" when its event came by sync or
// reconciliation and it is the first webhook of that event in the period;
// every other duplicate is a redelivery.
func CountDuplicates(ctx context.Context, db *store.DB, from, to time.Time) (Duplicates, error) {
	var d Duplicates
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END), 0)
		FROM webhook_deliveries WHERE received_at >= ? AND received_at < ?`), from.UTC(), to.UTC()).Scan(&d.Accepted, &d.Duplicates)
	if err != nil {
		return d, fmt.Errorf("counting deliveries: %w", err)
	}
	if d.Duplicates == 0 {
		return d, nil
	}
	if d.AfterImport, err = CountAfterImport(ctx, db, from, to); err != nil {
		return d, err
	}
	d.Redeliveries = d.Duplicates - d.AfterImport
	return d, nil
}

// CountAfterImport counts the duplicates received in [from, to) that were
// the first webhook of an event a sync or reconciliation had imported. It
// walks the period's duplicates (received_at index) to their events (unique
// event_id): each imported event has one first webhook, so the distinct
// imported events among them are the deliveries after import. A
// redelivery of an imported event whose first webhook came before the
// period is counted as its first webhook: the period is all it reads.
func CountAfterImport(ctx context.Context, db *store.DB, from, to time.Time) (int, error) {
	var n int
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(DISTINCT e.id)
		FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.dwolla_event_id
		WHERE d.outcome = 'duplicate' AND d.received_at >= ? AND d.received_at < ? AND e.source IN ('sync', 'reconcile')`),
		from.UTC(), to.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting deliveries after an import: %w", err)
	}
	return n, nil
}
