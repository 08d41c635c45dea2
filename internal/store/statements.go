package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Statements keeps the statements of one hot path prepared on SQLite's
// writer connection, so that each transaction runs them without parsing
// and planning them again. modernc's SQLite compiles every statement it is
// given, and for an INSERT into a table with many indexes that costs more
// than running it: ~60 µs for one event row, a fifth of a small group
// commit's CPU.
//
// A statement can only be prepared outside a transaction: on SQLite the
// writer has a single connection, which an open transaction holds. So In
// never prepares; it notes what it was asked for, and the caller prepares
// it with Prepare before its next transaction. On PostgreSQL pgx already
// keeps a prepared-statement cache per connection, and Statements does
// nothing.
type Statements struct {
	db *DB

	mu       sync.Mutex
	prepared map[string]*sql.Stmt
	wanted   map[string]bool
}

// NewStatements returns an empty set of statements for db.
func (db *DB) NewStatements() *Statements {
	return &Statements{db: db, prepared: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// In returns query, prepared, for use in tx; or nil when it is not prepared
// yet (the next Prepare prepares it) or the database is PostgreSQL. query
// uses ? placeholders.
func (s *Statements) In(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if s == nil || s.db.Postgres() {
		return nil
	}
	s.mu.Lock()
	st, ok := s.prepared[query]
	if !ok {
		s.wanted[query] = true
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// Prepare prepares the statements In was asked for. It must not be called
// while the caller holds a transaction on the writer: on SQLite it needs
// the writer connection itself.
func (s *Statements) Prepare(ctx context.Context) error {
	if s == nil || s.db.Postgres() {
		return nil
	}
	s.mu.Lock()
	var queries []string
	for q := range s.wanted {
		queries = append(queries, q)
	}
	s.mu.Unlock()
	for _, q := range queries {
		st, err := s.db.Write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing a statement: %w", err)
		}
		s.mu.Lock()
		delete(s.wanted, q)
		if _, dup := s.prepared[q]; dup {
			_ = st.Close()
		} else {
			s.prepared[q] = st
		}
		s.mu.Unlock()
	}
	return nil
}

// Close closes the prepared statements.
func (s *Statements) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for q, st := range s.prepared {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.prepared, q)
	}
	return first
}

// queryIn runs query (? placeholders) in tx, prepared when stmts has it.
func (db *DB) queryIn(ctx context.Context, tx *sql.Tx, stmts *Statements, query string, args ...any) (*sql.Rows, error) {
	if st := stmts.In(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, db.Rebind(query), args...)
}

// execIn runs query (? placeholders) in tx, prepared when stmts has it.
func (db *DB) execIn(ctx context.Context, tx *sql.Tx, stmts *Statements, query string, args ...any) (sql.Result, error) {
	if st := stmts.In(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, db.Rebind(query), args...)
}

// chunks splits n rows into the sizes of the multi-row statements that
// write them. With prepared statements (SQLite) the sizes are powers of
// two, so that a handful of statement shapes serve every batch; otherwise
// as few statements as the parameter limit allows.
func (db *DB) chunks(n int, prepared bool) []int {
	var out []int
	if !prepared || db.Postgres() {
		for n > 0 {
			c := min(n, maxRowsPerStatement)
			out = append(out, c)
			n -= c
		}
		return out
	}
	for size := maxPreparedRows; n > 0; size /= 2 {
		for n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// maxPreparedRows is the largest multi-row statement kept prepared.
const maxPreparedRows = 128
