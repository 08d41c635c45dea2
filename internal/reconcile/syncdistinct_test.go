package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/reconcile"
)

// pushingProgress publishes new events at Dwolla between the sync's pages,
// as live traffic does: each pushes already-read events onto the next page.
type pushingProgress struct {
	t     *testing.T
	fake  *fakedwolla.Server
	pages int
	done  int
	total int
}

func (p *pushingProgress) SetTotal(n int) { p.total = n }
func (p *pushingProgress) Stage(string)   {}
func (p *pushingProgress) Add(done, _ int) {
	p.done += done
	p.pages++
	emit(p.t, p.fake, 50, fmt.Sprintf("d%d", p.pages))
}

// Events read again because live traffic pushed them onto a later page are
// counted once: the run's seen count and the progress bar count distinct
// events, never more than Dwolla holds.
func TestSyncCountsDistinctEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", fakedwolla.Faults{})
	emit(t, b.fake, 500, "b")
	prog := &pushingProgress{t: t, fake: b.fake}
	run, err := b.service(t, false).Sync(context.Background(),
		reconcile.SyncOptions{Since: time.Now().Add(-time.Hour), Trigger: "manual"}, prog)
	require.NoError(t, err)
	require.GreaterOrEqual(t, run.Pages, 3, "paged while events arrived")
	// The events published during the sync land before the cursor, so the
	// run reads exactly the 500 that were there when it started.
	require.Equal(t, 500, run.Seen, "each event counted once")
	require.Equal(t, run.Seen, run.Imported+run.AlreadyPresent)
	require.Equal(t, 500, prog.done, "the progress bar counts distinct events")
	require.LessOrEqual(t, prog.done, prog.total, "the bar never passes 100%%")
}

// lockedBuffer is a log destination the service's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The reconciliation's log line gives the health score as a number, not the
// address of one.
func TestReconcileLogsTheHealthScore(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", fakedwolla.Faults{})
	emit(t, b.fake, 5, "e")
	var logs lockedBuffer
	svc := reconcile.New(b.s.App.DB, b.s.App.Hub, b.s.App.Tracker, nil, slog.New(slog.NewTextHandler(&logs, nil)), reconcile.Options{
		Client: b.s.App.Dwolla, WebhookURL: b.s.URL + "/api/webhooks/dwolla/v2",
		Wake: b.s.App.Pipeline.Wake, Grace: time.Nanosecond,
	})
	rec, err := svc.Run(context.Background(), reconcile.RunOptions{Window: time.Hour, Trigger: "cli"}, nil)
	require.NoError(t, err)
	require.NotNil(t, rec.HealthScore)
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "reconciliation finished") {
			line = l
		}
	}
	require.NotEmpty(t, line, logs.String())
	require.Regexp(t, `health=[0-9]+(\.[0-9]+)?( |$)`, line)
	require.NotContains(t, line, "health=0x")
}
