package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/alertnotification"
)

// The outbox: every notification to a channel is an AlertNotification row
// written in the transaction that changed its alert, marked sent or failed
// once delivered. A row still pending after its lease belongs to an instance
// that stopped in between; the next evaluation (on any instance) sends it.
// Receivers may then see a notification twice, never zero times: its
// payload's id is the same, so they can drop the repeat.

const (
	// outboxBatch bounds the pending notifications one evaluation takes over.
	outboxBatch = 100
	// outboxKeep is how long sent and failed rows are kept.
	outboxKeep = 30 * 24 * time.Hour
)

// outboxLease is how long a pending row stays with the instance that wrote
// it: longer than that instance can take to deliver it (every attempt timing
// out, with the backoff between them), plus a margin.
func (s *Service) outboxLease() time.Duration {
	d := time.Minute
	wait := s.opts.Backoff
	for i := 0; i < s.opts.Attempts; i++ {
		d += s.opts.Timeout + wait
		wait *= 2
	}
	return d
}

// pendingNotes takes over the notifications whose lease expired, each under
// a conditional update so that two instances never both take one, and drops
// finished rows older than outboxKeep. Leases are measured on the wall
// clock, not the evaluation's (which tests move): they bound real delivery
// times.
func (s *Service) pendingNotes(ctx context.Context) ([]*notification, error) {
	now := time.Now().UTC()
	if _, err := s.client.AlertNotification.Delete().Where(
		alertnotification.StatusNEQ(alertnotification.StatusPending),
		alertnotification.CreatedAtLT(now.Add(-outboxKeep))).Exec(ctx); err != nil {
		return nil, fmt.Errorf("pruning sent notifications: %w", err)
	}
	rows, err := s.client.AlertNotification.Query().Where(
		alertnotification.StatusEQ(alertnotification.StatusPending), alertnotification.DueAtLTE(now)).
		Order(ent.Asc(alertnotification.FieldID)).Limit(outboxBatch).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading pending notifications: %w", err)
	}
	var notes []*notification
	for _, row := range rows {
		taken, err := s.client.AlertNotification.Update().Where(alertnotification.ID(row.ID),
			alertnotification.StatusEQ(alertnotification.StatusPending), alertnotification.DueAtLTE(now)).
			SetDueAt(now.Add(s.outboxLease())).Save(ctx)
		if err != nil {
			return notes, fmt.Errorf("taking over notification %d: %w", row.ID, err)
		}
		if taken == 0 {
			continue // another instance took it
		}
		var p Payload
		if err := json.Unmarshal(row.Payload, &p); err != nil {
			s.finishOutbox(ctx, row.ID, alertnotification.StatusFailed, 0, "unreadable payload: "+err.Error())
			continue
		}
		ch, err := s.client.AlertChannel.Get(ctx, row.ChannelID)
		if ent.IsNotFound(err) || err == nil && !ch.Enabled {
			s.finishOutbox(ctx, row.ID, alertnotification.StatusFailed, 0, "the channel was deleted or disabled before it was sent")
			continue
		}
		if err != nil {
			return notes, fmt.Errorf("reading channel %d: %w", row.ChannelID, err)
		}
		s.log.Info("sending a notification left pending", "alert_id", row.AlertID, "channel_id", row.ChannelID,
			"event", row.Event, "queued_at", row.CreatedAt)
		notes = append(notes, &notification{
			alert: &ent.Alert{ID: row.AlertID}, channels: []*ent.AlertChannel{ch}, event: row.Event,
			payload: p, outbox: []int{row.ID},
		})
	}
	return notes, nil
}

// recordOutbox marks an outbox row with its delivery's outcome.
func (s *Service) recordOutbox(ctx context.Context, id int, d Delivery) {
	status := alertnotification.StatusSent
	if !d.OK {
		status = alertnotification.StatusFailed
	}
	s.finishOutbox(ctx, id, status, d.Attempts, d.Error)
}

func (s *Service) finishOutbox(ctx context.Context, id int, status alertnotification.Status, attempts int, errText string) {
	upd := s.client.AlertNotification.UpdateOneID(id).SetStatus(status).SetAttempts(attempts).
		SetFinishedAt(s.opts.Now().UTC())
	if errText != "" {
		upd.SetLastError(clip(errText, 500))
	}
	if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
		s.log.Warn("recording a notification's outcome", "notification_id", id, "err", err)
	}
}
