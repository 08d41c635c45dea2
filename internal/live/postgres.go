package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// channel is the PostgreSQL notification channel hooklens uses.
const channel = "hooklens_live"

// maxPayload stays under PostgreSQL's 8,000-byte NOTIFY payload limit.
const maxPayload = 7800

// PGBridge carries hub messages between instances over LISTEN/NOTIFY.
type PGBridge struct {
	hub  *Hub
	pool *pgxpool.Pool
	log  *slog.Logger
}

// NewPGBridge connects hub to the other instances using pool.
func NewPGBridge(hub *Hub, pool *pgxpool.Pool, log *slog.Logger) *PGBridge {
	return &PGBridge{hub: hub, pool: pool, log: log}
}

// Send notifies the other instances. A message too large for one
// notification is split by its ids.
func (b *PGBridge) Send(ctx context.Context, m Message) error {
	for _, part := range split(m) {
		payload, err := json.Marshal(part)
		if err != nil {
			return fmt.Errorf("encoding live message: %w", err)
		}
		if _, err := b.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload)); err != nil {
			return fmt.Errorf("notifying other instances: %w", err)
		}
	}
	return nil
}

func split(m Message) []Message {
	payload, _ := json.Marshal(m)
	if len(payload) <= maxPayload || len(m.IDs) < 2 {
		return []Message{m}
	}
	half := len(m.IDs) / 2
	a, b := m, m
	a.IDs, b.IDs = m.IDs[:half], m.IDs[half:]
	if len(m.Keys) == len(m.IDs) {
		a.Keys, b.Keys = m.Keys[:half], m.Keys[half:]
	}
	return append(split(a), split(b)...)
}

// Run listens until ctx ends, reconnecting with backoff when the connection
// drops. Messages this instance sent are skipped: they were dispatched
// locally already.
func (b *PGBridge) Run(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("live bridge: listening failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (b *PGBridge) listen(ctx context.Context) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	defer func() {
		// Leave the pooled connection clean.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *")
	}()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		var m Message
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
			b.log.Warn("live bridge: undecodable notification", "err", err)
			continue
		}
		if m.Origin == b.hub.Instance() {
			continue
		}
		b.hub.Dispatch(m)
	}
}
