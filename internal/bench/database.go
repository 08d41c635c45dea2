package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database kinds a run can create.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// FreshDatabase is an empty database made for one run.
type FreshDatabase struct {
	// Kind is SQLite or Postgres.
	Kind string
	// URL is what hooklens opens: a file path or a postgres:// URL.
	URL   string
	admin string
	name  string
}

// NewDatabase makes an empty database of kind: a new SQLite file under dir,
// or a new PostgreSQL database on the server of adminURL. label makes the
// name recognisable.
func NewDatabase(ctx context.Context, kind, dir, adminURL, label string) (*FreshDatabase, error) {
	stamp := fmt.Sprintf("%s_%d", label, time.Now().UnixNano()%1e12)
	switch kind {
	case SQLite:
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
		return &FreshDatabase{Kind: kind, URL: filepath.Join(dir, stamp+".db")}, nil
	case Postgres:
		if adminURL == "" {
			return nil, fmt.Errorf("a PostgreSQL run needs --pg-admin-url (or TEST_DATABASE_URL): a server where it may create a database")
		}
		name := "hooklens_bench_" + stamp
		if len(name) > 60 {
			name = name[:60]
		}
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return nil, fmt.Errorf("connecting to PostgreSQL to create the run's database: %w", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("creating database %s: %w", name, err)
		}
		u, err := url.Parse(adminURL)
		if err != nil {
			return nil, fmt.Errorf("parsing the PostgreSQL admin URL: %w", err)
		}
		u.Path = "/" + name
		return &FreshDatabase{Kind: kind, URL: u.String(), admin: adminURL, name: name}, nil
	}
	return nil, fmt.Errorf("unknown database kind %q (want sqlite or postgres)", kind)
}

// Name is the PostgreSQL database's name ("" for SQLite).
func (d *FreshDatabase) Name() string { return d.name }

// Drop removes the database.
func (d *FreshDatabase) Drop(ctx context.Context) error {
	switch d.Kind {
	case SQLite:
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(d.URL + suffix); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("removing %s: %w", d.URL+suffix, err)
			}
		}
		return nil
	case Postgres:
		conn, err := pgx.Connect(ctx, d.admin)
		if err != nil {
			return fmt.Errorf("connecting to PostgreSQL to drop %s: %w", d.name, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dropping %s: %w", d.name, err)
		}
	}
	return nil
}
