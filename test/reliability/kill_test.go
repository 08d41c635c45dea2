//go:build reliability

package reliability

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
)

// TestKillDuringLoad: kill -9 while signed webhooks stream in, restart on
// the same database, and every acknowledged event is stored and processed
// exactly once.
func TestKillDuringLoad(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var dbURL string
			if kind == "sqlite" {
				dbURL = filepath.Join(t.TempDir(), "hooklens.db")
			} else {
				dbURL = dbtest.NewPostgres(t)
			}
			s := newServer(t, serverOptions{databaseURL: dbURL})
			s.start()
			l := newLoad(s, "kill")
			l.pace = 5 * time.Millisecond // about 1,000 deliveries a second
			ctx, cancel := context.WithCancel(context.Background())
			wg := l.run(ctx, 8)

			// Two kills, each in the middle of the stream: once a few
			// hundred more deliveries have been acknowledged.
			for round := 0; round < 2; round++ {
				l.waitAcked(t, len(l.ackedIDs())+300, "the stream before a kill")
				s.kill()
				l.waitStatus(t, 0, l.count(0)+1, "deliveries fail while it is down")
				s.start()
			}
			l.waitAcked(t, len(l.ackedIDs())+300, "the stream after the last restart")
			cancel()
			wg.Wait()

			acked := l.ackedIDs()
			t.Logf("%d events acknowledged; %d transport errors, %d×503", len(acked), l.count(0), l.count(http.StatusServiceUnavailable))
			require.Greater(t, len(acked), 100)
			require.Positive(t, l.count(0), "the kills interrupted deliveries")
			requireAllStoredOnceAndProcessed(t, openDB(t, dbURL), acked, "kill")
			s.stop()
		})
	}
}
