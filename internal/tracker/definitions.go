package tracker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/journeydefinition"
	"github.com/hooklens/hooklens/internal/journey"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Seed stores the built-in definitions that are missing, and upgrades
// built-ins an admin never edited to the version this binary ships.
func (t *Tracker) Seed(ctx context.Context) error {
	for _, def := range journey.Builtins() {
		spec, err := json.Marshal(def)
		if err != nil {
			return fmt.Errorf("encoding built-in journey %s: %w", def.Key, err)
		}
		cur, err := t.client.JourneyDefinition.Query().Where(journeydefinition.Key(def.Key)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err = t.client.JourneyDefinition.Create().
				SetKey(def.Key).SetName(def.Name).SetDescription(def.Description).
				SetVersion(def.Version).SetEnabled(def.Enabled).SetBuiltin(true).
				SetSpec(spec).
				OnConflictColumns(journeydefinition.FieldKey).DoNothing().
				Exec(ctx)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("seeding journey %s: %w", def.Key, err)
			}
		case err != nil:
			return fmt.Errorf("reading journey %s: %w", def.Key, err)
		case cur.Builtin && !cur.Customized && cur.Version < def.Version:
			err = cur.Update().SetName(def.Name).SetDescription(def.Description).
				SetVersion(def.Version).SetSpec(spec).SetUpdatedAt(time.Now().UTC()).Exec(ctx)
			if err != nil {
				return fmt.Errorf("upgrading journey %s: %w", def.Key, err)
			}
			t.log.Info("upgraded built-in journey", "journey", def.Key, "version", def.Version)
		}
	}
	return nil
}

// Reload rebuilds the router from the stored definitions. Definitions that
// fail to load are logged and skipped, never silently routed nowhere.
func (t *Tracker) Reload(ctx context.Context) error {
	rows, err := t.client.JourneyDefinition.Query().All(ctx)
	if err != nil {
		return fmt.Errorf("loading journey definitions: %w", err)
	}
	var defs []journey.Definition
	ids := map[string]int{}
	for _, row := range rows {
		def, err := DecodeSpec(row)
		if err != nil {
			t.log.Error("journey definition does not load; it is skipped", "journey", row.Key, "err", err)
			continue
		}
		defs = append(defs, def)
		ids[row.Key] = row.ID
	}
	r, err := journey.NewRouter(defs)
	if err != nil {
		// NewRouter skips the bad ones and reports them; keep the good.
		t.log.Error("some journey definitions are invalid and are skipped", "err", err)
	}
	if r == nil {
		return fmt.Errorf("building the journey router: %w", err)
	}
	t.router.Store(r)
	t.defIDs.Store(&ids)
	return nil
}

// DecodeSpec returns a stored definition as journey.Definition, with the
// row's key, version and enabled flag (the row is the source of truth).
func DecodeSpec(row *ent.JourneyDefinition) (journey.Definition, error) {
	def, err := journey.ParseDefinition(row.Spec)
	if err != nil {
		return def, err
	}
	def.Key, def.Name, def.Description, def.Version, def.Enabled = row.Key, row.Name, row.Description, row.Version, row.Enabled
	return def, nil
}

// Watch reloads the router whenever any instance changes a definition, and
// once a minute in case a message was missed, until ctx ends.
func (t *Tracker) Watch(ctx context.Context) {
	sub := t.hub.Subscribe(ctx, 4, live.DefinitionsChanged)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-sub.C:
			if !ok {
				return
			}
		case <-tick.C:
		}
		if err := t.Reload(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("reloading journey definitions", "err", err)
		}
	}
}

// Validation is the outcome of checking a definition.
type Validation struct {
	Warnings []string
	Errors   []string
}

// Check validates def without saving it.
func Check(def journey.Definition) Validation {
	warnings, err := journey.Validate(def)
	v := Validation{Warnings: warnings}
	if err != nil {
		v.Errors = splitProblems(err)
	}
	return v
}

// Save creates a definition or replaces an existing one's spec (raising its
// version). The definition must validate; warnings are returned.
func (t *Tracker) Save(ctx context.Context, def journey.Definition, create bool) (*ent.JourneyDefinition, []string, error) {
	cur, err := t.client.JourneyDefinition.Query().Where(journeydefinition.Key(def.Key)).Only(ctx)
	exists := err == nil
	if err != nil && !ent.IsNotFound(err) {
		return nil, nil, err
	}
	switch {
	case create && exists:
		return nil, nil, usererr.Field("key", "a journey with key %q exists; update it instead", def.Key)
	case !create && !exists:
		return nil, nil, usererr.New(usererr.NotFound, "no journey with key %q", def.Key)
	}
	def.Version = 1
	if exists {
		def.Version = cur.Version + 1
	}
	warnings, verr := journey.Validate(def)
	if verr != nil {
		return nil, warnings, usererr.New(usererr.Invalid, "the journey definition is invalid: %s", joinProblems(splitProblems(verr)))
	}
	spec, err := json.Marshal(def)
	if err != nil {
		return nil, nil, err
	}
	var row *ent.JourneyDefinition
	if exists {
		row, err = cur.Update().SetName(def.Name).SetDescription(def.Description).SetVersion(def.Version).
			SetEnabled(def.Enabled).SetSpec(spec).SetCustomized(cur.Builtin).SetUpdatedAt(time.Now().UTC()).Save(ctx)
	} else {
		row, err = t.client.JourneyDefinition.Create().SetKey(def.Key).SetName(def.Name).SetDescription(def.Description).
			SetVersion(def.Version).SetEnabled(def.Enabled).SetSpec(spec).Save(ctx)
	}
	if err != nil {
		return nil, warnings, fmt.Errorf("saving journey %s: %w", def.Key, err)
	}
	t.changed(ctx)
	return row, warnings, nil
}

// SetEnabled turns a definition on or off.
func (t *Tracker) SetEnabled(ctx context.Context, key string, enabled bool) (*ent.JourneyDefinition, error) {
	cur, err := t.client.JourneyDefinition.Query().Where(journeydefinition.Key(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, usererr.New(usererr.NotFound, "no journey with key %q", key)
	}
	if err != nil {
		return nil, err
	}
	row, err := cur.Update().SetEnabled(enabled).SetUpdatedAt(time.Now().UTC()).Save(ctx)
	if err != nil {
		return nil, err
	}
	t.changed(ctx)
	return row, nil
}

// RestoreBuiltin puts a customised built-in back to the shipped definition.
func (t *Tracker) RestoreBuiltin(ctx context.Context, key string) (*ent.JourneyDefinition, error) {
	for _, def := range journey.Builtins() {
		if def.Key != key {
			continue
		}
		cur, err := t.client.JourneyDefinition.Query().Where(journeydefinition.Key(key)).Only(ctx)
		if err != nil {
			return nil, err
		}
		def.Version = cur.Version + 1
		spec, err := json.Marshal(def)
		if err != nil {
			return nil, err
		}
		row, err := cur.Update().SetName(def.Name).SetDescription(def.Description).SetVersion(def.Version).
			SetEnabled(def.Enabled).SetSpec(spec).SetCustomized(false).SetUpdatedAt(time.Now().UTC()).Save(ctx)
		if err != nil {
			return nil, err
		}
		t.changed(ctx)
		return row, nil
	}
	return nil, usererr.New(usererr.NotFound, "%q is not a built-in journey", key)
}

func (t *Tracker) changed(ctx context.Context) {
	if err := t.Reload(ctx); err != nil {
		t.log.Warn("reloading journey definitions", "err", err)
	}
	if err := t.hub.Publish(ctx, live.Message{Kind: live.DefinitionsChanged}); err != nil {
		t.log.Warn("telling other instances about a journey definition change", "err", err)
	}
}
