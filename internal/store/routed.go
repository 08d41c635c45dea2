package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// routedDriver sends ent's plain SELECTs to SQLite's read pool and every
// other statement, and every transaction, to the single writer connection.
// Routing on the statement (not the method) matters: ent inserts with
// INSERT … RETURNING through Query.
type routedDriver struct {
	w, r *entsql.Driver
}

var _ dialect.Driver = (*routedDriver)(nil)

func isReadOnly(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 || !strings.EqualFold(q[:6], "SELECT") {
		return false
	}
	// SELECT … FOR UPDATE has no meaning on SQLite, but keep it on the writer.
	return !strings.Contains(strings.ToUpper(q), " FOR UPDATE")
}

func (d *routedDriver) Exec(ctx context.Context, query string, args, v any) error {
	return d.w.Exec(ctx, query, args, v)
}

func (d *routedDriver) Query(ctx context.Context, query string, args, v any) error {
	if isReadOnly(query) {
		return d.r.Query(ctx, query, args, v)
	}
	return d.w.Query(ctx, query, args, v)
}

func (d *routedDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.w.Tx(ctx) }

// BeginTx lets ent's Client.BeginTx pass options through.
func (d *routedDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	return d.w.BeginTx(ctx, opts)
}

func (d *routedDriver) Close() error {
	return errors.Join(d.w.Close(), d.r.Close())
}

func (d *routedDriver) Dialect() string { return dialect.SQLite }
