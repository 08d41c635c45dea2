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

			// Two kills, each in the middle of the stream.
			for round := 0; round < 2; round++ {
				time.Sleep(1500 * time.Millisecond)
				before := len(l.ackedIDs())
				s.kill()
				require.Positive(t, before, "the load got acknowledgements before the kill")
				time.Sleep(300 * time.Millisecond) // deliveries fail while it is down
				s.start()
			}
			time.Sleep(1500 * time.Millisecond)
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
