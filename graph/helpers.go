package graph

import (
	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Page sizes. A connection asked for without first or last gets
// defaultPage items; nobody gets more than maxPage at once.
const (
	defaultPage = 50
	maxPage     = 1000
)

// pageSize applies the page-size rules to a connection's first/last.
func pageSize(first, last *int) (*int, *int, error) {
	for _, n := range []*int{first, last} {
		if n != nil && (*n < 0 || *n > maxPage) {
			return nil, nil, usererr.New(usererr.Invalid, "first and last must be between 0 and %d", maxPage)
		}
	}
	if first == nil && last == nil {
		n := defaultPage
		first = &n
	}
	return first, last, nil
}

func topicModel(t dwolla.Topic, known bool) *model.Topic {
	mt := &model.Topic{
		Name: t.Name, Resource: t.Resource, Family: t.Family, Description: t.Description,
		Terminal: t.Terminal, Known: known,
	}
	if t.Outcome != dwolla.OutcomeNone {
		o := string(t.Outcome)
		mt.Outcome = &o
	}
	return mt
}

// filterByKey returns the ids of m whose parallel key is wanted.
func filterByKey(m live.Message, want map[string]bool) []int {
	var ids []int
	for i, id := range m.IDs {
		if i < len(m.Keys) && want[m.Keys[i]] {
			ids = append(ids, id)
		}
	}
	return ids
}
