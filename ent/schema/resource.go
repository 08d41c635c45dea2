package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// DwollaResource is the latest snapshot of a Dwolla resource an event
// names — a transfer, a customer or a funding source — fetched from the
// API by enrichment (internal/enrich). It is compact on purpose: amounts,
// statuses, types, links between resources and failure codes; never
// names, emails or account numbers unless HOOKLENS_ENRICH_PERSONAL_DATA
// asks for a display name.
type DwollaResource struct {
	ent.Schema
}

// Fields of the DwollaResource.
func (DwollaResource) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").
			Values("transfer", "customer", "funding_source").
			Comment("What the resource is."),
		field.String("resource_id").
			NotEmpty().
			Comment("Dwolla's id, lower-cased as events store it."),
		field.Enum("state").
			Values("pending", "fetched", "gone", "failed").
			Default("pending").
			Comment("pending: to fetch (again); fetched: the snapshot is current; gone: Dwolla answered 404 (not retried); failed: gave up after the retries."),
		field.Int("attempts").
			Default(0).
			Comment("Failed fetches since the last success."),
		field.Time("next_attempt_at").
			Default(time.Now).
			Comment("When a pending resource is due."),
		field.Time("wanted_at").
			Default(time.Now).
			Comment("Created time of the newest event naming it: a snapshot older than this is stale."),
		field.Time("fetched_at").
			Optional().Nillable(),
		field.String("last_error").
			Optional(),
		field.String("status").
			Optional().
			Comment("Dwolla's status: pending/processed/failed/cancelled, verified/unverified/retry/…"),
		field.String("type").
			Optional().
			Comment("Customer type (personal, business, unverified, receive-only) or funding-source type (bank, balance)."),
		field.String("customer_id").
			Optional().
			Comment("The customer a funding source belongs to."),
		field.String("display_name").
			Optional().
			Comment("Only with HOOKLENS_ENRICH_PERSONAL_DATA: a customer's or bank's name."),
		// Transfers.
		field.Int64("amount_cents").
			Optional().Nillable(),
		field.String("currency").
			Optional(),
		field.String("source_customer_id").
			Optional().
			Comment("Customer on the source side (empty: the master account)."),
		field.String("destination_customer_id").
			Optional(),
		field.String("source_funding_source_id").
			Optional(),
		field.String("destination_funding_source_id").
			Optional(),
		field.String("correlation_id").
			Optional(),
		field.Time("dwolla_created_at").
			Optional().Nillable().
			Comment("The resource's created time at Dwolla."),
		field.String("failure_code").
			Optional().
			Comment("ACH return code of a failed transfer (R01, …)."),
		field.String("failure_description").
			Optional(),
		field.Time("failed_at").
			Optional().Nillable().
			Comment("When enrichment first saw the transfer failed."),
		field.Bool("chained").
			Default(false).
			Comment("The transfer is a leg of a chained payment (it has a funding or funded transfer); a payment's money is counted once, on its leg between two parties."),
		field.Bool("late_return").
			Default(false).
			Comment("The transfer failed after it had been seen processed (R01-late)."),
		// Funding sources.
		field.String("bank_account_type").
			Optional(),
		field.Bool("removed").
			Default(false),
	}
}

// Indexes of the DwollaResource.
func (DwollaResource) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("kind", "resource_id").Unique(),
		// The fetcher's queue: what is due, oldest first.
		index.Fields("state", "next_attempt_at"),
		// The money figures and the customer view.
		index.Fields("kind", "dwolla_created_at"),
		index.Fields("source_customer_id"),
		index.Fields("destination_customer_id"),
		index.Fields("customer_id"),
	}
}

// Annotations of the DwollaResource.
func (DwollaResource) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// EnrichmentCursor is how far enrichment has read the events table: the
// live worker's position, and the history job's (so it resumes).
type EnrichmentCursor struct {
	ent.Schema
}

// Fields of the EnrichmentCursor.
func (EnrichmentCursor) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			Unique().NotEmpty().
			Comment("live or history"),
		field.Int("last_event_id").
			Default(0).
			Comment("The highest events-table id read."),
		field.Int("until_event_id").
			Default(0).
			Comment("For history: where the live worker started, so history stops there."),
		field.Time("updated_at").
			Default(time.Now).UpdateDefault(time.Now),
	}
}

// Annotations of the EnrichmentCursor.
func (EnrichmentCursor) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
