package alert_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/alertnotification"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/pipeline"
)

// Every notification is an outbox row written with its alert's change. One
// that an instance committed and never sent (it stopped in between) is sent
// by the next evaluation once its lease is over, exactly once even when two
// instances evaluate at the same moment; one still within its lease is left
// to the instance delivering it.
func TestOutboxSendsWhatAStoppedInstanceLeftPending(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := dbtest.Open(t, kind)
			b := setup(t, db)
			other := setup(t, db) // a second instance on the same database
			ch := b.webhook(t, "ops", "")
			gone := b.webhook(t, "gone", "")
			b.rule(t, alert.NewRule{Key: "dl", Condition: "dead_letters"}, ch)
			for _, f := range []*fakeFacts{b.facts, other.facts} {
				f.set(func(s *pipeline.Status) { s.DeadLettered = 3 })
			}

			sum := b.evaluate(t, minutes(0))
			require.Equal(t, 1, sum.Deliveries)
			rows, err := db.Client.AlertNotification.Query().All(ctx)
			require.NoError(t, err)
			require.Len(t, rows, 1, "one row per channel notified")
			sent := rows[0]
			require.Equal(t, alertnotification.StatusSent, sent.Status, "marked once delivered")
			require.Equal(t, 1, sent.Attempts)
			require.NotNil(t, sent.FinishedAt)
			require.Equal(t, "fired", sent.Event)
			firstID := b.rx.payloads(t)[0].ID

			// What instances that stopped mid-way left behind: a renotification
			// whose lease is over, one still within its lease (its instance may
			// be delivering it right now), and one to a channel deleted since.
			pending := func(channel int, id string, due time.Time) *ent.AlertNotification {
				p := b.rx.payloads(t)[0]
				p.ID, p.Event = id, "renotified"
				body, err := json.Marshal(p)
				require.NoError(t, err)
				row, err := db.Client.AlertNotification.Create().SetAlertID(sent.AlertID).SetChannelID(channel).
					SetEvent("renotified").SetPayload(body).SetCreatedAt(time.Now().Add(-time.Hour)).SetDueAt(due).Save(ctx)
				require.NoError(t, err)
				return row
			}
			overdue := pending(ch.ID, "left-behind", time.Now().Add(-time.Second))
			leased := pending(ch.ID, "in-flight", time.Now().Add(time.Hour))
			orphan := pending(gone.ID, "orphan", time.Now().Add(-time.Second))
			require.NoError(t, b.svc.DeleteChannel(ctx, gone.ID))

			// Both instances evaluate at once: the overdue one goes out once.
			var wg sync.WaitGroup
			for _, s := range []*alert.Service{b.svc, other.svc} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Evaluate(ctx, minutes(0)) // the same minute: no renotification is due
					require.NoError(t, err)
				}()
			}
			wg.Wait()
			var ids []string
			for _, p := range b.rx.payloads(t) {
				ids = append(ids, p.ID)
			}
			require.Equal(t, []string{firstID, "left-behind"}, ids, "the left-behind notification, once; nothing else")

			got, err := db.Client.AlertNotification.Get(ctx, overdue.ID)
			require.NoError(t, err)
			require.Equal(t, alertnotification.StatusSent, got.Status)
			got, err = db.Client.AlertNotification.Get(ctx, leased.ID)
			require.NoError(t, err)
			require.Equal(t, alertnotification.StatusPending, got.Status, "within its lease: left alone")
			got, err = db.Client.AlertNotification.Get(ctx, orphan.ID)
			require.NoError(t, err)
			require.Equal(t, alertnotification.StatusFailed, got.Status)
			require.Contains(t, got.LastError, "deleted or disabled")

			// The alert's log shows the delivery made on the stopped
			// instance's behalf.
			a := b.alerts(t, "dl")[0]
			require.Len(t, a.NotificationLog, 2)
			require.Equal(t, "left-behind", a.NotificationLog[1]["notification"])
		})
	}
}
