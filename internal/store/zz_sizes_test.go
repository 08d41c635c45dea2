package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
)

func TestZZSizes(t *testing.T) {
	if os.Getenv("SIZES") == "" {
		t.Skip()
	}
	db := dbtest.Open(t, "postgres")
	ctx := context.Background()
	w := db.NewEventWriter()
	body := make([]byte, 900)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	const n = 20000
	now := time.Now().UTC()
	for g := 0; g < n/100; g++ {
		var evs []store.NewEvent
		var ds []store.NewDelivery
		var links []string
		for i := 0; i < 100; i++ {
			id := fmt.Sprintf("%08d-aaaa-bbbb-cccc-%012d", g, i)
			evs = append(evs, store.NewEvent{EventID: id, Topic: "customer_transfer_created", HeaderTopic: "customer_transfer_created", TopicKnown: true,
				ResourceType: "transfers", ResourceID: "0d4bc5b0-0000-4000-8000-" + id[len(id)-12:], CustomerID: "c2f7a6f0-0000-4000-8000-" + id[len(id)-12:],
				AccountID: "ad5f2162-404a-4c4c-994e-6ab6c3a13254", CreatedAt: now, Source: "webhook", Body: body, BodySHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", BodySize: len(body), Deliveries: 1})
			ds = append(ds, store.NewDelivery{ReceivedAt: now, RemoteAddr: "52.1.2.3", Outcome: "accepted", StatusCode: 200, LatencyMS: 2.5, BodySize: len(body),
				BodySHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", DwollaEventID: id, TopicHeader: "customer_transfer_created", UserAgent: "dwolla-webhooks/1.1", RequestID: id})
			links = append(links, id)
		}
		if _, err := w.StoreGroup(ctx, now, evs, ds, links); err != nil {
			t.Fatal(err)
		}
	}
	tr := tracker.New(db, live.NewHub("t"), slog.New(slog.DiscardHandler))
	if err := tr.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(db, live.NewHub("t"), metrics.New(), slog.New(slog.DiscardHandler), "t", pipeline.Options{}, tr)
	for {
		k, err := p.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	if _, err := db.Write.Exec("VACUUM"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Read.Query(`SELECT c.relname, c.relkind, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = 'public' AND c.relkind IN ('r','i') AND pg_total_relation_size(c.oid) > 16384 ORDER BY 3 DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, kind string
		var size int64
		_ = rows.Scan(&name, &kind, &size)
		t.Logf("%-60s %s %8.1f bytes/event", name, kind, float64(size)/n)
	}
}
