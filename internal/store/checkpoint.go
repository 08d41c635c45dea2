package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite's WAL grows with every commit and is folded back into the
// database file by a checkpoint. By default the connection that commits
// runs it once the WAL passes 1,000 pages, inside that commit: a group
// commit of webhooks then waited for a checkpoint (12 % of ingest's CPU in
// one profile), and so did the deliveries it acknowledges. The writer's
// automatic checkpoints are turned off instead, and a connection of their
// own runs passive checkpoints in the background; a passive checkpoint
// never waits for the writer or the readers, so ingest never waits for it.

// checkpointEvery is how often the background checkpointer runs.
const checkpointEvery = 500 * time.Millisecond

// checkpointer runs passive checkpoints until stopped.
type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	done sync.WaitGroup
}

func startCheckpointer(dsn string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	c := &checkpointer{conn: conn, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = c.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

// close stops the checkpointer after a last checkpoint that truncates the
// WAL when nothing else uses the database any more.
func (c *checkpointer) close() error {
	close(c.stop)
	c.done.Wait()
	_, _ = c.conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return c.conn.Close()
}

// Checkpoint runs a passive checkpoint now (SQLite; nothing on
// PostgreSQL). It returns the WAL's size in pages and how many of them
// are in the database file.
func (db *DB) Checkpoint(ctx context.Context) (walPages, checkpointed int, err error) {
	if db.ckpt == nil {
		return 0, 0, nil
	}
	var busy int
	err = db.ckpt.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &checkpointed)
	return walPages, checkpointed, err
}
