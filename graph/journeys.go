package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/predicate"
	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/usererr"
)

type predicateJourney = predicate.JourneyInstance

// definitionFromInput turns the GraphQL input into a definition, checking
// the durations (the rest is checked by journey.Validate).
func definitionFromInput(in model.JourneyDefinitionInput) (journey.Definition, error) {
	def := journey.Definition{
		Key: in.Key, Name: in.Name, Enabled: true,
		Correlation:   journey.Correlation{By: journey.CorrelateBy(in.Correlation.By), ResourceTypes: in.Correlation.ResourceTypes},
		SuccessTopics: in.SuccessTopics, FailureTopics: in.FailureTopics, ExcludeTopics: in.ExcludeTopics,
	}
	if in.Description != nil {
		def.Description = *in.Description
	}
	if in.Enabled != nil {
		def.Enabled = *in.Enabled
	}
	if in.SuccessIsFinal != nil {
		def.SuccessIsFinal = *in.SuccessIsFinal
	}
	if in.Start.AnyTopic != nil {
		def.Start.AnyTopic = *in.Start.AnyTopic
	}
	def.Start.Topics = in.Start.Topics
	abandon, err := journey.ParseDuration(in.AbandonAfter)
	if err != nil {
		return def, usererr.Field("abandonAfter", "abandonAfter: %s", err.Error())
	}
	def.AbandonAfter = abandon
	for i, s := range in.Steps {
		step := journey.Step{Key: s.Key, Name: s.Name, Topics: s.Topics}
		if s.Description != nil {
			step.Description = *s.Description
		}
		if s.Optional != nil {
			step.Optional = *s.Optional
		}
		if s.Repeatable != nil {
			step.Repeatable = *s.Repeatable
		}
		if s.Within != nil && *s.Within != "" {
			w, err := journey.ParseDuration(*s.Within)
			if err != nil {
				return def, usererr.Field(fmt.Sprintf("steps[%d].within", i), "steps[%d].within: %s", i, err.Error())
			}
			step.Within = w
		}
		def.Steps = append(def.Steps, step)
	}
	return def, nil
}

func (r *mutationResolver) saveDefinition(ctx context.Context, input model.JourneyDefinitionInput, create bool) (*model.JourneyDefinitionResult, error) {
	def, err := definitionFromInput(input)
	if err != nil {
		return nil, err
	}
	row, warnings, err := r.Tracker.Save(ctx, def, create)
	if err != nil {
		return nil, err
	}
	return &model.JourneyDefinitionResult{Definition: row, Warnings: nonNil(warnings)}, nil
}

func journeyStatsModel(s journey.Stats, from, to time.Time) *model.JourneyStats {
	out := &model.JourneyStats{Definition: s.Definition, From: from, To: to, Instances: s.Instances}
	for _, st := range []journey.Status{journey.StatusActive, journey.StatusStuck, journey.StatusCompleted, journey.StatusFailed, journey.StatusAbandoned} {
		out.ByStatus = append(out.ByStatus, &model.JourneyStatusCount{Status: journeyinstance.Status(st), Count: s.ByStatus[st]})
	}
	finished := s.ByStatus[journey.StatusCompleted] + s.ByStatus[journey.StatusFailed] + s.ByStatus[journey.StatusAbandoned]
	if finished > 0 {
		rate := float64(s.ByStatus[journey.StatusCompleted]) / float64(finished)
		out.SuccessRate = &rate
	}
	for _, o := range journey.Outcomes {
		if n := s.ByOutcome[o]; n > 0 {
			out.ByOutcome = append(out.ByOutcome, &model.JourneyOutcomeCount{Outcome: string(o), Count: n})
		}
	}
	if out.ByOutcome == nil {
		out.ByOutcome = []*model.JourneyOutcomeCount{}
	}
	out.Completion = &model.DurationStats{Count: s.Completion.Count, Unknown: s.Completion.Unknown}
	if s.Completion.Count > 0 {
		out.Completion.AvgSeconds = seconds(s.Completion.Avg)
		out.Completion.P50Seconds = seconds(s.Completion.P50)
		out.Completion.P90Seconds = seconds(s.Completion.P90)
	}
	for _, st := range s.Steps {
		fs := &model.JourneyFunnelStep{
			Key: st.Key, Name: st.Name, Reached: st.Reached, ReachRate: st.ReachRate, Missed: st.Missed,
			DroppedOff: st.DroppedOff, DropOffRate: st.DropOffRate, Waiting: st.Waiting, OverLimit: st.OverLimit,
		}
		if st.MedianSincePrevious > 0 {
			fs.MedianSincePreviousSeconds = seconds(st.MedianSincePrevious)
		}
		out.Steps = append(out.Steps, fs)
	}
	if out.Steps == nil {
		out.Steps = []*model.JourneyFunnelStep{}
	}
	return out
}

// streamJourneys feeds a journey subscription, optionally for one definition.
func (r *Resolver) streamJourneys(ctx context.Context, kind live.Kind, definition *string) <-chan *ent.JourneyInstance {
	sub := r.Hub.Subscribe(ctx, 256, kind)
	out := make(chan *ent.JourneyInstance, 64)
	go func() {
		defer close(out)
		for m := range sub.C {
			ids := m.IDs
			if definition != nil {
				ids = filterByKey(m, map[string]bool{*definition: true})
			}
			if len(ids) == 0 {
				continue
			}
			js, err := r.Client.JourneyInstance.Query().Where(journeyinstance.IDIn(ids...)).All(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.Log.Warn("loading journeys for a subscriber", "err", err)
				}
				continue
			}
			for _, j := range js {
				select {
				case out <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func seconds(d journey.Duration) *float64 {
	s := time.Duration(d).Seconds()
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
