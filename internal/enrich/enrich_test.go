package enrich_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/dwollaresource"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/enrich"
	"github.com/hooklens/hooklens/internal/fakedwolla"
	"github.com/hooklens/hooklens/internal/jobs"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/money"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
)

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// clock is a test clock; sleeps advance it and are recorded.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	sleeps int
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
		c.sleeps++
	}
	return nil
}
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type testBundle struct {
	db     *store.DB
	fake   *fakedwolla.Server
	api    *dwolla.Client
	driver *simulate.Driver
	clock  *clock
	e      *enrich.Enricher
}

func setup(t *testing.T, kind string, opts enrich.Options, breakerFailures uint32) *testBundle {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logWriter{t}, nil))
	f, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "k", Secret: "s", Seed: 21, Faults: fakedwolla.Faults{RetryAfter: time.Second}})
	require.NoError(t, err)
	t.Cleanup(f.Close)
	api, err := dwolla.NewClient(dwolla.ClientOptions{BaseURL: f.URL, Key: "k", Secret: "s", Logger: log, Seed: 1,
		MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRetryTime: 5 * time.Second,
		BreakerFailures: breakerFailures, BreakerCooldown: time.Hour})
	require.NoError(t, err)
	d, err := simulate.NewDriver(simulate.DriverOptions{BaseURL: f.URL, Key: "k", Secret: "s", Seed: 21,
		Mix: simulate.Mix{"transfer": 1, "personal.verified": 1, "business.verified": 1, "funding.instant": 1,
			"transfer.completed": 3, "transfer.failed": 2, "transfer.late-failure": 1, "masspayment.completed": 1}})
	require.NoError(t, err)
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now, opts.Sleep = c.Now, c.Sleep
	db := dbtest.Open(t, kind)
	e, err := enrich.New(db.Client, api, log, opts)
	require.NoError(t, err)
	return &testBundle{db: db, fake: f, api: api, driver: d, clock: c, e: e}
}

// play runs n journeys through the fake's API with simulations, then
// stores the events the fake fired, as a sync would.
func (b *testBundle) play(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		require.NoError(t, b.driver.Step(ctx))
		if i%3 == 2 {
			require.NoError(t, b.driver.Simulate(ctx))
		}
	}
	for i := 0; i < 3; i++ {
		require.NoError(t, b.driver.Simulate(ctx))
	}
	b.importEvents(t)
}

func (b *testBundle) importEvents(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var rows []store.NewEvent
	for _, ev := range b.fake.Events() {
		sum := sha256.Sum256(ev.Body)
		rows = append(rows, store.NewEvent{EventID: ev.ID, Topic: ev.Topic, TopicKnown: true,
			ResourceType: ev.ResourceType, ResourceID: ev.ResourceID, CustomerID: ev.CustomerID, AccountID: ev.AccountID,
			CorrelationID: ev.CorrelationID, CreatedAt: ev.Created, Source: "sync", Body: ev.Body,
			BodySHA256: hex.EncodeToString(sum[:]), BodySize: len(ev.Body)})
	}
	tx, err := b.db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = b.db.InsertEvents(ctx, tx, time.Now(), rows)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

func (b *testBundle) resources(t *testing.T, state dwollaresource.State) []*ent.DwollaResource {
	t.Helper()
	rs, err := b.db.Client.DwollaResource.Query().Where(dwollaresource.StateEQ(state)).All(context.Background())
	require.NoError(t, err)
	return rs
}

func countAPI(f *fakedwolla.Server, prefix string) int { return countAPIFrom(f, 0, prefix) }

// countAPIFrom counts the GETs under prefix from the mark-th request on.
func countAPIFrom(f *fakedwolla.Server, mark int, prefix string) int {
	n := 0
	for _, r := range f.Requests()[mark:] {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// TestHistoryEnrichesEveryResourceWithinBudget enriches stored events as
// the history job does: every transfer, customer and funding source gets
// a snapshot that agrees with the API, at the configured request rate,
// and a second run fetches nothing (cached).
func TestHistoryEnrichesEveryResourceWithinBudget(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, kind, enrich.Options{Rate: 10}, 100)
			b.play(t, 24)
			ctx := context.Background()
			// Enrichment starts after the events were stored: they are history.
			require.NoError(t, b.e.Tick(ctx, time.Minute))
			require.Empty(t, b.resources(t, dwollaresource.StatePending), "live enrichment skips history")
			pending, err := b.e.HistoryPending(ctx)
			require.NoError(t, err)
			require.True(t, pending)

			mark := len(b.fake.Requests())
			runner := jobs.NewRunner(b.db.Client, live.NewHub("test"), slog.New(slog.NewTextHandler(logWriter{t}, nil)), "test")
			j, err := runner.Run(ctx, jobs.Spec{Kind: enrich.JobKind, Description: "history"}, b.e.HistoryJob)
			require.NoError(t, err)
			require.Equal(t, "succeeded", string(j.Status))
			require.Positive(t, j.Total)
			require.Equal(t, j.Total, j.Done)
			fetched := b.resources(t, dwollaresource.StateFetched)
			require.NotEmpty(t, fetched)
			require.Empty(t, b.resources(t, dwollaresource.StatePending))
			require.Empty(t, b.resources(t, dwollaresource.StateGone))
			gets := countAPIFrom(b.fake, mark, "/transfers/") + countAPIFrom(b.fake, mark, "/customers/") + countAPIFrom(b.fake, mark, "/funding-sources/")
			require.Positive(t, gets)
			// The budget: 10 requests a second of the (test) clock.
			require.GreaterOrEqual(t, b.clock.slept, time.Duration(gets-1)*100*time.Millisecond)

			kinds := map[dwollaresource.Kind]int{}
			codes := 0
			for _, r := range fetched {
				kinds[r.Kind]++
				switch r.Kind {
				case dwollaresource.KindTransfer:
					tr, err := b.api.GetTransfer(ctx, r.ResourceID)
					require.NoError(t, err)
					require.Equal(t, tr.Status, r.Status)
					cents, err := enrich.ParseAmount(tr.Amount.Value)
					require.NoError(t, err)
					require.Equal(t, cents, *r.AmountCents)
					if r.Status == "failed" {
						require.Regexp(t, `^R\d\d$`, r.FailureCode)
						require.NotEmpty(t, r.FailureDescription)
						codes++
					}
				case dwollaresource.KindCustomer:
					require.Contains(t, []string{"personal", "business", "unverified", "receive-only"}, r.Type)
					require.Empty(t, r.DisplayName, "no names without the setting")
				case dwollaresource.KindFundingSource:
					require.Contains(t, []string{"bank", "balance"}, r.Type)
					require.NotEmpty(t, r.CustomerID)
				}
			}
			require.Positive(t, kinds[dwollaresource.KindTransfer])
			require.Positive(t, kinds[dwollaresource.KindCustomer])
			require.Positive(t, kinds[dwollaresource.KindFundingSource])
			require.Positive(t, codes, "failed transfers carry their ACH return")

			// Cached: nothing new, nothing fetched.
			before := len(b.fake.Requests())
			require.NoError(t, b.e.Tick(ctx, time.Minute))
			require.Equal(t, before, len(b.fake.Requests()))

			// The money figures come from the snapshots.
			f, err := money.Compute(ctx, b.db.Client, money.Query{From: b.clock.Now().Add(-48 * time.Hour), To: time.Now().Add(time.Hour), Bucket: time.Hour})
			require.NoError(t, err)
			require.Positive(t, f.Total.Count)
			require.Positive(t, f.Returned.Count)
			require.NotEmpty(t, f.ReturnCodes)
		})
	}
}

// TestLiveEnrichmentFollowsNewEvents: events stored after enrichment
// started are enriched by the live worker, and a newer event about a
// fetched transfer makes it due again.
func TestLiveEnrichmentFollowsNewEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", enrich.Options{Rate: 50, PersonalData: true}, 100)
	ctx := context.Background()
	require.NoError(t, b.e.Tick(ctx, time.Minute)) // starts the cursors on an empty table
	b.play(t, 12)
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	require.Empty(t, b.resources(t, dwollaresource.StatePending))
	fetched := b.resources(t, dwollaresource.StateFetched)
	require.NotEmpty(t, fetched)
	named := 0
	for _, r := range fetched {
		if r.Kind == dwollaresource.KindCustomer && r.DisplayName != "" {
			named++
		}
	}
	require.Positive(t, named, "display names with HOOKLENS_ENRICH_PERSONAL_DATA")
	st, err := b.e.Status(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Lag)
	require.Equal(t, len(fetched), st.Fetched)
}

// TestEnrichmentRetries429sAndServerErrors: the client retries 429 and
// 5xx answers; what still fails is retried later with backoff, then given
// up, and never blocks the other resources.
func TestEnrichmentRetries429sAndServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", enrich.Options{Rate: 100, MaxAttempts: 2, RetryBase: time.Minute}, 100)
	ctx := context.Background()
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	b.play(t, 6)
	// Two 429s: the client waits Retry-After and the fetch succeeds.
	b.fake.FailNext(http.StatusTooManyRequests, 2, 0)
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	require.Empty(t, b.resources(t, dwollaresource.StatePending))
	require.Empty(t, b.resources(t, dwollaresource.StateFailed))

	// A resource whose fetches keep failing with 500: retried after the
	// backoff, then given up; a newer event would queue it again.
	r := b.resources(t, dwollaresource.StateFetched)[0]
	require.NoError(t, r.Update().SetState(dwollaresource.StatePending).SetNextAttemptAt(b.clock.Now()).Exec(ctx))
	b.fake.FailNext(http.StatusInternalServerError, 3, 0) // all of the client's 3 attempts
	n, err := b.e.FetchDue(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r, err = b.db.Client.DwollaResource.Get(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, dwollaresource.StatePending, r.State)
	require.Equal(t, 1, r.Attempts)
	require.Equal(t, b.clock.Now().Add(time.Minute).Unix(), r.NextAttemptAt.Unix())
	n, err = b.e.FetchDue(ctx, 10)
	require.NoError(t, err)
	require.Zero(t, n, "not due before the backoff")
	b.clock.Advance(time.Minute)
	b.fake.FailNext(http.StatusInternalServerError, 3, 0)
	_, err = b.e.FetchDue(ctx, 10)
	require.NoError(t, err)
	r, err = b.db.Client.DwollaResource.Get(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, dwollaresource.StateFailed, r.State)
	require.Contains(t, r.LastError, "500")
}

// TestEnrichmentSurvivesADeadAPI: with Dwolla unreachable the breaker
// opens, enrichment stops asking without spending attempts, and nothing
// else is held up.
func TestEnrichmentSurvivesADeadAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", enrich.Options{Rate: 100}, 3)
	ctx := context.Background()
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	b.play(t, 6)
	_, err := b.api.Token(ctx)
	require.NoError(t, err)
	b.fake.Close() // the API dies
	require.NoError(t, b.e.Tick(ctx, 10*time.Second))
	require.Equal(t, dwolla.BreakerOpen, b.api.BreakerState())
	pending := b.resources(t, dwollaresource.StatePending)
	require.NotEmpty(t, pending)
	spent := 0
	for _, r := range pending {
		spent += r.Attempts
	}
	require.LessOrEqual(t, spent, 3, "attempts stop counting once the breaker opens")
	require.Empty(t, b.resources(t, dwollaresource.StateFetched))
}

// TestEnrichmentRecordsA404: a resource Dwolla no longer has is recorded
// as gone and never fetched again.
func TestEnrichmentRecordsA404(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", enrich.Options{Rate: 100}, 100)
	ctx := context.Background()
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	ghost := "9f0e2f6b-0000-4000-8000-000000000404"
	_, err := b.fake.Emit("customer_transfer_created", fakedwolla.Resource("transfers", ghost), fakedwolla.Customer("9f0e2f6b-0000-4000-8000-000000000001"))
	require.NoError(t, err)
	b.importEvents(t)
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	gone := b.resources(t, dwollaresource.StateGone)
	require.Len(t, gone, 2) // the transfer and its customer
	gets := countAPI(b.fake, "/transfers/"+ghost)
	require.Equal(t, 1, gets)
	// Another event about it: still gone, not fetched again.
	_, err = b.fake.Emit("customer_transfer_completed", fakedwolla.Resource("transfers", ghost), fakedwolla.Customer("9f0e2f6b-0000-4000-8000-000000000001"))
	require.NoError(t, err)
	b.importEvents(t)
	b.clock.Advance(time.Hour)
	require.NoError(t, b.e.Tick(ctx, time.Minute))
	require.Equal(t, 1, countAPI(b.fake, "/transfers/"+ghost))
	require.Len(t, b.resources(t, dwollaresource.StateGone), 2)
}
