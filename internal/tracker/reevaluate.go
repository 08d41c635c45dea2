package tracker

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/store"
)

// Progress is what a re-evaluation reports.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

// ReevaluateDefinition re-routes every stored event with one of the
// definition's topics and recomputes its journeys: what a changed
// definition needs. Memberships of the definition are rebuilt, and
// journeys left without events are removed.
func (t *Tracker) ReevaluateDefinition(ctx context.Context, key string, now func() time.Time, prog Progress) (map[string]any, error) {
	def, ok := t.router.Load().Definition(key)
	if !ok {
		return nil, fmt.Errorf("journey %q is not enabled (or does not exist)", key)
	}
	only, err := journey.NewRouter([]journey.Definition{def})
	if err != nil {
		return nil, err
	}
	topics := def.Topics()
	topicArgs := make([]any, len(topics))
	for i, tp := range topics {
		topicArgs[i] = tp
	}
	in := "(" + repeatGroup("?", len(topics)) + ")"
	var total int
	if err := t.db.Read.QueryRowContext(ctx, t.db.Rebind("SELECT COUNT(*) FROM webhook_events WHERE topic IN "+in), topicArgs...).Scan(&total); err != nil {
		return nil, fmt.Errorf("counting events: %w", err)
	}
	prog.SetTotal(total)
	prog.Stage("clearing memberships")
	if _, err := t.db.Write.ExecContext(ctx, t.db.Rebind("DELETE FROM journey_memberships WHERE definition_key = ?"), key); err != nil {
		return nil, fmt.Errorf("clearing memberships: %w", err)
	}
	prog.Stage("re-routing events")
	after, journeys := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return map[string]any{"journeys": journeys}, err
		}
		args := append([]any{after}, topicArgs...)
		args = append(args, 1000)
		rows, err := t.db.Read.QueryContext(ctx, t.db.Rebind(`SELECT id, event_id, topic, created_at, resource_id, resource_type, customer_id
			FROM webhook_events WHERE id > ? AND topic IN `+in+` ORDER BY id LIMIT ?`), args...)
		if err != nil {
			return nil, fmt.Errorf("reading events: %w", err)
		}
		type routed struct {
			p  pair
			id int
		}
		var members []routed
		opens := map[pair]bool{}
		n := 0
		for rows.Next() {
			var id int
			var je journey.Event
			var created any
			var rid, rtype, cid sql.NullString
			if err := rows.Scan(&id, &je.ID, &je.Topic, &created, &rid, &rtype, &cid); err != nil {
				rows.Close()
				return nil, err
			}
			if je.Created, err = store.ScanTime(created); err != nil {
				rows.Close()
				return nil, err
			}
			je.ResourceID, je.ResourceType, je.CustomerID = rid.String, rtype.String, cid.String
			for _, a := range only.Route(je) {
				p := pair{a.Definition, a.Key}
				members = append(members, routed{p, id})
				opens[p] = opens[p] || a.Opens
			}
			after = id
			n++
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		tx, err := t.db.Write.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		for start := 0; start < len(members); start += 300 {
			chunk := members[start:min(start+300, len(members))]
			margs := make([]any, 0, len(chunk)*3)
			for _, m := range chunk {
				margs = append(margs, m.p.def, m.p.key, m.id)
			}
			if _, err := tx.ExecContext(ctx, t.db.Rebind("INSERT INTO journey_memberships (definition_key, correlation_key, webhook_event_id) VALUES "+
				repeatGroup("(?,?,?)", len(chunk))+" ON CONFLICT (definition_key, correlation_key, webhook_event_id) DO NOTHING"), margs...); err != nil {
				_ = tx.Rollback()
				return nil, fmt.Errorf("recording memberships: %w", err)
			}
		}
		pairs := make([]pair, 0, len(opens))
		for p := range opens {
			pairs = append(pairs, p)
		}
		ch, err := t.evaluate(ctx, tx, pairs, opens, now())
		if err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		journeys += len(ch.updated)
		prog.Add(n, 0)
	}
	prog.Stage("removing journeys without events")
	res, err := t.db.Write.ExecContext(ctx, t.db.Rebind(`DELETE FROM journey_instances WHERE definition_key = ? AND NOT EXISTS
		(SELECT 1 FROM journey_memberships m WHERE m.definition_key = journey_instances.definition_key AND m.correlation_key = journey_instances.correlation_key)`), key)
	if err != nil {
		return nil, fmt.Errorf("removing empty journeys: %w", err)
	}
	removed, _ := res.RowsAffected()
	return map[string]any{"events": total, "journeysEvaluated": journeys, "journeysRemoved": removed}, nil
}
