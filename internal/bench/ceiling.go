package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

// The ceiling receiver is the least a durable webhook receiver can do, run
// beside hooklens so every published ratio is HTTP against HTTP on the same
// database: verify the HMAC exactly as hooklens does, parse the event id,
// and group-commit the raw body into one table with a unique key,
// acknowledging each request only after its own commit. Nothing else: no
// delivery records, no queue, no pipeline, no metrics.

// CeilingTable is the ceiling receiver's one table.
const CeilingTable = "ceiling_events"

// ceilingMaxBody bounds a request body (Dwolla's are a few KiB).
const ceilingMaxBody = 1 << 20

// ceilingMaxBatch bounds one group commit.
const ceilingMaxBatch = 512

// CeilingOptions configure a ceiling receiver.
type CeilingOptions struct {
	// DatabaseURL is a postgres:// URL (the table is created in that
	// database) or a SQLite file path (the receiver's own file, opened with
	// hooklens' pragmas: WAL, synchronous=FULL).
	DatabaseURL string
	// Secret is the webhook secret, as hooklens'.
	Secret string
	// Writers is the number of concurrent group-commit writers (default
	// hooklens' receiver's: 1 on SQLite, 2 on PostgreSQL; always 1 on
	// SQLite).
	Writers int
	// Log receives errors (default: discarded).
	Log *slog.Logger
}

// Ceiling is a running ceiling receiver.
type Ceiling struct {
	verifier *dwolla.Verifier
	log      *slog.Logger
	commit   func(ctx context.Context, batch []*ceilingReq) error
	closeDB  func()
	reqs     chan *ceilingReq
	wg       sync.WaitGroup
	stop     chan struct{}
	once     sync.Once
}

type ceilingReq struct {
	id   string
	body []byte
	done chan error
}

// OpenCeiling opens the receiver's database, creates its table if absent
// and starts its writers.
func OpenCeiling(ctx context.Context, opts CeilingOptions) (*Ceiling, error) {
	if opts.Secret == "" {
		return nil, errors.New("the ceiling receiver needs a webhook secret")
	}
	if opts.DatabaseURL == "" {
		return nil, errors.New("the ceiling receiver needs a database URL or SQLite path")
	}
	c := &Ceiling{verifier: dwolla.NewVerifier(opts.Secret), log: opts.Log, reqs: make(chan *ceilingReq, 4096), stop: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	writers := opts.Writers
	if config.IsPostgresURL(opts.DatabaseURL) {
		if writers <= 0 {
			writers = 2
		}
		if err := c.openPostgres(ctx, opts.DatabaseURL, writers); err != nil {
			return nil, err
		}
	} else {
		writers = 1
		if err := c.openSQLite(ctx, opts.DatabaseURL); err != nil {
			return nil, err
		}
	}
	for i := 0; i < writers; i++ {
		c.wg.Add(1)
		go c.write()
	}
	return c, nil
}

func (c *Ceiling) openPostgres(ctx context.Context, url string, writers int) error {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parsing the ceiling's database URL: %w", err)
	}
	pcfg.MaxConns = int32(writers)
	if pcfg.ConnConfig.RuntimeParams == nil {
		pcfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "hooklens-ceiling"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+CeilingTable+` (event_id text PRIMARY KEY, body bytea NOT NULL)`); err != nil {
		pool.Close()
		return fmt.Errorf("creating %s: %w", CeilingTable, err)
	}
	c.closeDB = pool.Close
	// One statement per group, arrays as parameters: one shape, so it is
	// prepared once per connection and reused. A statement outside a
	// transaction commits on its own.
	const q = `INSERT INTO ` + CeilingTable + ` (event_id, body) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING`
	c.commit = func(ctx context.Context, batch []*ceilingReq) error {
		ids := make([]string, len(batch))
		bodies := make([][]byte, len(batch))
		for i, r := range batch {
			ids[i], bodies[i] = r.id, r.body
		}
		_, err := pool.Exec(ctx, q, ids, bodies)
		return err
	}
	return nil
}

func (c *Ceiling) openSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", store.SQLiteDSN(path, false))
	if err != nil {
		return fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+CeilingTable+` (event_id TEXT PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		db.Close()
		return fmt.Errorf("creating %s: %w", CeilingTable, err)
	}
	stmt, err := db.PrepareContext(ctx, `INSERT INTO `+CeilingTable+` (event_id, body) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		db.Close()
		return fmt.Errorf("preparing the ceiling's insert: %w", err)
	}
	c.closeDB = func() { stmt.Close(); db.Close() }
	c.commit = func(ctx context.Context, batch []*ceilingReq) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		st := tx.StmtContext(ctx, stmt)
		for _, r := range batch {
			if _, err := st.ExecContext(ctx, r.id, r.body); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	return nil
}

// write is one group-commit writer: it takes a request as soon as it is
// free, adds whatever else is already waiting (eager: no timer), commits
// them together and then answers each.
func (c *Ceiling) write() {
	defer c.wg.Done()
	batch := make([]*ceilingReq, 0, ceilingMaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case <-c.stop:
			return
		}
	more:
		for len(batch) < ceilingMaxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.commit(ctx, batch)
		cancel()
		if err != nil {
			c.log.Error("ceiling group commit failed", "rows", len(batch), "err", err)
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// ServeHTTP answers POST /api/webhooks/dwolla/v2 (any path): 401 on a bad
// signature, 400 on a body that is not an event with an id, 503 when the
// commit failed, 200 {"received":true} after the commit. GET /readyz is 200.
func (c *Ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/readyz" {
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ceilingMaxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := c.verifier.Verify(body, r.Header.Get(dwolla.SignatureHeader)); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		http.Error(w, "not a JSON event with an id", http.StatusBadRequest)
		return
	}
	req := &ceilingReq{id: ev.ID, body: body, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.stop:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	if err := <-req.done; err != nil {
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received":true}`)
}

// Close stops the writers once the requests already taken are committed,
// and closes the database. Handlers still waiting are answered 503.
func (c *Ceiling) Close() {
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
		for {
			select {
			case r := <-c.reqs:
				r.done <- errors.New("shutting down")
				continue
			default:
			}
			break
		}
		c.closeDB()
	})
}

// ServeCeiling runs a ceiling receiver on addr until ctx ends.
func ServeCeiling(ctx context.Context, addr string, opts CeilingOptions) error {
	c, err := OpenCeiling(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
