package graph

import (
	"context"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/alert"
	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/live"
)

// caller names the principal for records of who did what.
func caller(ctx context.Context) string {
	if p := auth.FromContext(ctx); p != nil {
		return p.TokenName
	}
	return "unknown"
}

func healthComponents(run *ent.ReconciliationRun) []*model.HealthComponent {
	out := make([]*model.HealthComponent, 0, len(run.Components))
	for _, c := range run.Components {
		hc := &model.HealthComponent{}
		hc.Name, _ = c["name"].(string)
		hc.Weight, _ = c["weight"].(float64)
		hc.Score, _ = c["score"].(float64)
		hc.Available, _ = c["available"].(bool)
		hc.Note, _ = c["note"].(string)
		if v, ok := c["cap"].(float64); ok {
			hc.Cap = &v
		}
		out = append(out, hc)
	}
	return out
}

// streamByID sends the record with id (or any id, when nil) each time a
// message of kind names it.
func streamByID[T any](ctx context.Context, r *Resolver, kind live.Kind, id *int, load func(context.Context, int) (T, error)) <-chan T {
	sub := r.Hub.Subscribe(ctx, 64, kind)
	out := make(chan T, 8)
	go func() {
		defer close(out)
		if id != nil {
			if v, err := load(ctx, *id); err == nil {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		}
		for m := range sub.C {
			for _, got := range m.IDs {
				if id != nil && got != *id {
					continue
				}
				v, err := load(ctx, got)
				if err != nil {
					continue
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func deliveryModel(d alert.Delivery) *model.AlertDelivery {
	out := &model.AlertDelivery{At: d.At, ChannelID: d.ChannelID, Channel: d.Channel, Kind: d.Kind, Event: d.Event,
		Notification: d.Notification, Ok: d.OK, Attempts: d.Attempts, Error: optString(d.Error), DurationMs: d.DurationMS}
	if d.Status != 0 {
		st := d.Status
		out.Status = &st
	}
	return out
}
