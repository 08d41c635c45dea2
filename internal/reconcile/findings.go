package reconcile

import (
	"context"
	"fmt"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/internal/usererr"
)

type finding struct {
	kind        reconciliationfinding.Kind
	severity    reconciliationfinding.Severity
	subject     string
	topic       string
	resource    string
	detail      string
	data        map[string]any
	autoResolve string // when set, the finding is recorded already resolved, with this note
}

func (r *run) observe(kind reconciliationfinding.Kind, subject string, present bool) {
	if r.seen[kind] == nil {
		r.seen[kind] = map[string]bool{}
	}
	if present {
		r.seen[kind][subject] = true
	} else if _, ok := r.seen[kind][subject]; !ok {
		r.seen[kind][subject] = false
	}
}

// record writes a finding, unless an open one about the same subject
// exists already (then it is left as is: one open finding per subject).
func (r *run) record(ctx context.Context, f finding) error {
	r.observe(f.kind, f.subject, true)
	if f.autoResolve == "" {
		exists, err := r.s.db.Client.ReconciliationFinding.Query().Where(
			reconciliationfinding.KindEQ(f.kind), reconciliationfinding.Subject(f.subject),
			reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen),
		).Exist(ctx)
		if err != nil {
			return fmt.Errorf("checking findings: %w", err)
		}
		if exists {
			return nil
		}
	}
	if r.written[f.kind] >= maxFindingsPerKind {
		return nil
	}
	r.written[f.kind]++
	c := r.s.db.Client.ReconciliationFinding.Create().
		SetKind(f.kind).SetSeverity(f.severity).SetSubject(f.subject).SetDetail(f.detail).
		SetRunID(r.rec.ID).SetCreatedAt(r.now)
	if f.topic != "" {
		c.SetTopic(f.topic)
	}
	if f.resource != "" {
		c.SetResourceID(f.resource)
	}
	if f.data != nil {
		c.SetData(f.data)
	}
	if f.autoResolve != "" {
		c.SetStatus(reconciliationfinding.StatusResolved).SetAutoResolved(true).
			SetResolvedAt(r.now).SetResolvedBy("auto").SetResolutionNote(f.autoResolve)
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("recording finding: %w", err)
	}
	return nil
}

// resolveUnseen closes open findings of kinds this run checked in full
// whose subjects it did not find again: the problem went away.
func (r *run) resolveUnseen(ctx context.Context, kinds ...reconciliationfinding.Kind) error {
	for _, kind := range kinds {
		open, err := r.s.db.Client.ReconciliationFinding.Query().Where(
			reconciliationfinding.KindEQ(kind), reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen),
		).All(ctx)
		if err != nil {
			return err
		}
		for _, f := range open {
			present, checked := r.seen[kind][f.Subject]
			if kind == reconciliationfinding.KindFailedDelivery || kind == reconciliationfinding.KindNeverSent {
				// Webhooks outside this run's listing were not checked.
				if !checked || present {
					continue
				}
			} else if present {
				continue
			}
			err := r.s.db.Client.ReconciliationFinding.UpdateOneID(f.ID).
				SetStatus(reconciliationfinding.StatusResolved).SetAutoResolved(true).
				SetResolvedAt(r.now).SetResolvedBy("auto").
				SetResolutionNote(fmt.Sprintf("no longer observed by run %d", r.rec.ID)).Exec(ctx)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ResolveFinding closes a finding by hand, with a note.
func (s *Service) ResolveFinding(ctx context.Context, id int, by, note string) (*ent.ReconciliationFinding, error) {
	f, err := s.db.Client.ReconciliationFinding.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, usererr.New(usererr.NotFound, "no finding with id %d", id)
	}
	if err != nil {
		return nil, err
	}
	if f.Status == reconciliationfinding.StatusResolved {
		return f, nil
	}
	return f.Update().SetStatus(reconciliationfinding.StatusResolved).SetResolvedAt(s.opts.Now().UTC()).
		SetResolvedBy(by).SetResolutionNote(note).Save(ctx)
}

// FindingCount is how many open findings there are of one kind.
type FindingCount struct {
	Kind  reconciliationfinding.Kind
	Count int
}

// OpenFindings counts open findings by kind.
func (s *Service) OpenFindings(ctx context.Context) ([]FindingCount, error) {
	var rows []struct {
		Kind  reconciliationfinding.Kind `json:"kind"`
		Count int                        `json:"count"`
	}
	err := s.db.Client.ReconciliationFinding.Query().
		Where(reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen)).
		GroupBy(reconciliationfinding.FieldKind).
		Aggregate(ent.Count()).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("counting open findings: %w", err)
	}
	out := make([]FindingCount, len(rows))
	for i, r := range rows {
		out[i] = FindingCount{Kind: r.Kind, Count: r.Count}
	}
	return out, nil
}
