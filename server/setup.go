package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/store"
)

// loadConfig resolves the configuration after fs (bound with config.Bind)
// has parsed its flags.
func loadConfig(e *env, l *config.Loader) (config.Config, error) {
	lookup, err := config.Environment(e.dir)
	if err != nil {
		return config.Config{}, err
	}
	cfg, err := l.Load(lookup)
	if err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// newLogger builds the process logger from the configuration.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB opens (and, when migrate is set, migrates) the configured database
// for commands that need only storage. It never creates a SQLite database:
// only serve, migrate and demo do (see createDB), so a mistyped
// DATABASE_URL is an error naming the path, not a new empty database.
func openDB(ctx context.Context, cfg config.Config, migrate bool) (*store.DB, error) {
	return openStore(ctx, cfg, migrate, true)
}

// createDB opens the configured database, creating and migrating it.
func createDB(ctx context.Context, cfg config.Config) (*store.DB, error) {
	return openStore(ctx, cfg, true, false)
}

func openStore(ctx context.Context, cfg config.Config, migrate, mustExist bool) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 4, CacheBytes: cfg.SQLiteCacheBytes(), MustExist: mustExist})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// configCommand parses flags and loads configuration in one step.
func configCommand(e *env, fs *flag.FlagSet, args []string) (config.Config, error) {
	l := config.Bind(fs)
	if err := parse(fs, args); err != nil {
		return config.Config{}, err
	}
	return loadConfig(e, l)
}

func init() {
	register(command{
		name:    "config",
		summary: "print the effective configuration, secrets redacted",
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet(e, "config", "[--output json] [configuration flags]")
			out := outputFlag(fs)
			cfg, err := configCommand(e, fs, args)
			if err != nil {
				return err
			}
			if out.JSON() {
				m := map[string]string{}
				for _, kv := range cfg.Redacted() {
					m[kv[0]] = kv[1]
				}
				return writeJSON(e.stdout, m)
			}
			cfg.Print(e.stdout)
			return nil
		},
	})
	register(command{
		name:    "migrate",
		summary: "create or update the database schema",
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet(e, "migrate", "[flags]")
			cfg, err := configCommand(e, fs, args)
			if err != nil {
				return err
			}
			db, err := createDB(ctx, cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Fprintf(e.stdout, "schema %s is current on %s\n", store.SchemaVersion, config.RedactURL(cfg.DatabaseURL))
			return nil
		},
	})
}
