package journey

import "time"

// Time limits are calendar time. Dwolla quotes business days (REFERENCE §5);
// a wait of up to n business days gets a limit of n+3 calendar days, so that
// a weekend and a bank holiday in between do not mark a healthy instance
// stuck. Waits on a
// person (answering KBA, uploading a document, entering micro-deposit
// amounts) get a week: past that, someone should nudge them.
const (
	hour = Duration(time.Hour)
	days = Duration(day)
	week = 7 * days

	// The Events API keeps 30 days of events. An open instance idle for
	// longer can no longer be repaired by backfilling from Dwolla, so 30
	// days is where "late" becomes "abandoned" for system-driven journeys.
	eventsAPIRetention = 30 * days
)

// Builtins returns the journeys hooklens ships with, following Dwolla's
// documented lifecycles (REFERENCE §5). It returns fresh copies: callers may
// edit them. docs/journeys.md describes each one.
func Builtins() []Definition {
	return []Definition{
		personalVerification(),
		businessVerification(),
		beneficialOwnerVerification(),
		microDepositVerification(),
		instantVerification(),
		transferJourney(),
		bankTransferJourney(),
		massPaymentJourney(),
	}
}

// businessOnlyTopics appear only for business customers. Webhooks do not say
// whether a customer is personal or business, so these are how hooklens
// tells: they open the business journey and exclude the personal one.
var businessOnlyTopics = []string{
	"customer_beneficial_owner_created",
	"customer_beneficial_owner_removed",
	"customer_beneficial_owner_reverification_needed",
	"customer_beneficial_owner_verification_document_needed",
	"customer_beneficial_owner_verification_document_uploaded",
	"customer_beneficial_owner_verification_document_approved",
	"customer_beneficial_owner_verification_document_failed",
	"customer_beneficial_owner_verified",
	"customer_verification_pending_review",
	"customer_address_verification_failed",
}

// REFERENCE §5.1.
func personalVerification() Definition {
	return Definition{
		Key:  "personal_verification",
		Name: "Personal customer verification",
		Description: "A personal verified Customer from creation to verified: the happy path is immediate; " +
			"a retry, a KBA check or identity documents (re-uploaded until approved) may come in between.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByCustomer},
		// Not customer_created: receive-only and unverified customers fire
		// it too and never verify, so it only joins. Not deactivated: an
		// API deactivation of an unverified customer is not a verification.
		Start: StartRule{Topics: []string{
			"customer_reverification_needed",
			"customer_kba_verification_needed",
			"customer_kba_verification_passed",
			"customer_kba_verification_failed",
			"customer_verification_document_needed",
			"customer_verification_document_uploaded",
			"customer_verification_document_approved",
			"customer_verification_document_failed",
			"customer_verified",
			"customer_suspended",
		}},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_created"}},
			{Key: "retry", Name: "Retry requested", Optional: true, Within: hour,
				Topics:      []string{"customer_reverification_needed"},
				Description: "Dwolla decides at creation; the status follows at once."},
			{Key: "kba_needed", Name: "KBA needed", Optional: true, Within: week,
				Topics:      []string{"customer_kba_verification_needed"},
				Description: "The retry was submitted and failed; waits on the customer."},
			{Key: "kba_answered", Name: "KBA answered", Optional: true, Within: 3 * days,
				Topics:      []string{"customer_kba_verification_passed", "customer_kba_verification_failed"},
				Description: "Two minutes to answer once fetched; fetching waits on the customer."},
			{Key: "document_needed", Name: "Document needed", Optional: true, Repeatable: true, Within: week,
				Topics:      []string{"customer_verification_document_needed"},
				Description: "After a failed retry or KBA; again if an approved document was not enough."},
			{Key: "document_uploaded", Name: "Document uploaded", Optional: true, Repeatable: true, Within: week,
				Topics:      []string{"customer_verification_document_uploaded"},
				Description: "Waits on the customer; again after a rejection."},
			{Key: "document_reviewed", Name: "Document reviewed", Optional: true, Repeatable: true, Within: 5 * days,
				Topics:      []string{"customer_verification_document_approved", "customer_verification_document_failed"},
				Description: "Seconds up to 1–2 business days."},
			{Key: "verified", Name: "Verified", Within: week,
				Topics:      []string{"customer_verified"},
				Description: "Immediate after creation, KBA or approval; a week when it waits on a retry."},
		},
		SuccessTopics: []string{"customer_verified"},
		// Suspension after verification ends the journey failed: the
		// customer can no longer transact, and Dwolla says it cannot be
		// fixed through the API.
		FailureTopics: []string{"customer_suspended", "customer_deactivated"},
		ExcludeTopics: cloneStrings(businessOnlyTopics),
		AbandonAfter:  eventsAPIRetention,
	}
}

// REFERENCE §5.2.
func businessVerification() Definition {
	return Definition{
		Key:  "business_verification",
		Name: "Business customer verification",
		Description: "A business verified Customer: owners are added (and their documents reviewed), ownership is " +
			"certified, then the personal flow without KBA, with a possible manual review.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByCustomer},
		// Only business-only events open it; a business customer that
		// shows none (no owners, no review) is counted as personal.
		Start: StartRule{Topics: []string{
			"customer_beneficial_owner_created",
			"customer_beneficial_owner_verification_document_uploaded",
			"customer_beneficial_owner_verification_document_approved",
			"customer_beneficial_owner_verification_document_failed",
			"customer_address_verification_failed",
			"customer_verification_pending_review",
		}},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_created"}},
			{Key: "owners_added", Name: "Beneficial owners added", Optional: true, Repeatable: true, Within: week,
				Topics:      []string{"customer_beneficial_owner_created"},
				Description: "One event per owner; each owner's own verification is the beneficial_owner_verification journey."},
			// Owner document events name a /documents/{id} resource, never
			// the owner, so they cannot join the owner's own journey; the
			// business they belong to is on every one of them.
			{Key: "owner_document_uploaded", Name: "Owner document uploaded", Optional: true, Repeatable: true, Within: eventsAPIRetention,
				Topics:      []string{"customer_beneficial_owner_verification_document_uploaded"},
				Description: "An owner in document status has 30 days to resolve it."},
			{Key: "owner_document_reviewed", Name: "Owner document reviewed", Optional: true, Repeatable: true, Within: 5 * days,
				Topics: []string{"customer_beneficial_owner_verification_document_approved", "customer_beneficial_owner_verification_document_failed"}},
			{Key: "retry", Name: "Retry requested", Optional: true, Within: week,
				Topics:      []string{"customer_reverification_needed", "customer_address_verification_failed"},
				Description: "Follows the business's certification, which has no webhook."},
			{Key: "document_needed", Name: "Document needed", Optional: true, Repeatable: true, Within: week,
				Topics: []string{"customer_verification_document_needed"}},
			{Key: "document_uploaded", Name: "Document uploaded", Optional: true, Repeatable: true, Within: week,
				Topics: []string{"customer_verification_document_uploaded"}},
			{Key: "document_reviewed", Name: "Document reviewed", Optional: true, Repeatable: true, Within: 5 * days,
				Topics: []string{"customer_verification_document_approved", "customer_verification_document_failed"}},
			{Key: "in_review", Name: "Manual review", Optional: true, Within: week,
				Topics:      []string{"customer_verification_pending_review"},
				Description: "Dwolla's additional review, about 2–3 business days."},
			{Key: "verified", Name: "Verified", Within: week,
				Topics: []string{"customer_verified"}},
		},
		SuccessTopics: []string{"customer_verified"},
		FailureTopics: []string{"customer_suspended", "customer_deactivated"},
		AbandonAfter:  eventsAPIRetention,
	}
}

// REFERENCE §3.5 and §5.2: one journey per owner, keyed by the owner.
func beneficialOwnerVerification() Definition {
	return Definition{
		Key:  "beneficial_owner_verification",
		Name: "Beneficial owner verification",
		Description: "One beneficial owner of a business from creation to verified. Its document upload and review " +
			"events name only the document, so they appear on the business's journey, not here.",
		Version: 1,
		Enabled: true,
		// Keyed by the owner; the resource type keeps document events
		// (resource /documents/{id}) from opening instances of their own.
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"beneficial-owner"}},
		Start: StartRule{Topics: []string{
			"customer_beneficial_owner_created",
			"customer_beneficial_owner_reverification_needed",
			"customer_beneficial_owner_verification_document_needed",
			"customer_beneficial_owner_verified",
		}},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_beneficial_owner_created"}},
			{Key: "retry", Name: "Retry requested", Optional: true, Within: days,
				Topics:      []string{"customer_beneficial_owner_reverification_needed"},
				Description: "Status incomplete: one update allowed."},
			{Key: "document_needed", Name: "Document needed", Optional: true, Repeatable: true, Within: eventsAPIRetention,
				Topics:      []string{"customer_beneficial_owner_verification_document_needed"},
				Description: "An incomplete owner must be resolved within 30 days."},
			{Key: "verified", Name: "Verified", Within: eventsAPIRetention,
				Topics:      []string{"customer_beneficial_owner_verified"},
				Description: "Covers the document upload, the 1–2 business day review and any re-uploads."},
		},
		SuccessTopics: []string{"customer_beneficial_owner_verified"},
		// Removing an owner before verification ends the journey unfinished;
		// removing a verified owner is ordinary upkeep, hence SuccessIsFinal.
		FailureTopics:  []string{"customer_beneficial_owner_removed"},
		SuccessIsFinal: true,
		AbandonAfter:   60 * days,
	}
}

var (
	fundingSourceAdded    = []string{"customer_funding_source_added", "funding_source_added"}
	fundingSourceVerified = []string{"customer_funding_source_verified", "funding_source_verified"}
	fundingSourceLost     = []string{
		"customer_funding_source_removed", "funding_source_removed",
		"customer_funding_source_unverified", "funding_source_unverified",
	}
	microDepositTopics = []string{
		"customer_microdeposits_added", "microdeposits_added",
		"customer_microdeposits_completed", "microdeposits_completed",
		"customer_microdeposits_failed", "microdeposits_failed",
		"customer_microdeposits_maxattempts", "microdeposits_maxattempts",
	}
)

// REFERENCE §5.3. Customer and master-account banks share one journey: they
// are the same kind of resource with the same lifecycle, and a funding
// source id names exactly one bank.
func microDepositVerification() Definition {
	return Definition{
		Key:         "bank_microdeposit_verification",
		Name:        "Bank verification by micro-deposits",
		Description: "A bank funding source verified with two micro-deposits: added, deposits sent, deposits settled, amounts confirmed.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"funding-source"}},
		// Only micro-deposit events open it; an added bank alone may be
		// receive-only or verified instantly.
		Start: StartRule{Topics: cloneStrings(microDepositTopics)},
		Steps: []Step{
			{Key: "added", Name: "Bank added", Topics: cloneStrings(fundingSourceAdded)},
			{Key: "microdeposits_sent", Name: "Micro-deposits sent", Within: week,
				Topics:      []string{"customer_microdeposits_added", "microdeposits_added"},
				Description: "Initiated by the application, often at once, sometimes later."},
			{Key: "microdeposits_settled", Name: "Micro-deposits settled", Within: 5 * days,
				Topics:      []string{"customer_microdeposits_completed", "microdeposits_completed"},
				Description: "1–2 business days."},
			{Key: "verified", Name: "Verified", Within: week,
				Topics:      cloneStrings(fundingSourceVerified),
				Description: "Waits on the customer entering the two amounts."},
		},
		SuccessTopics: cloneStrings(fundingSourceVerified),
		FailureTopics: append([]string{
			"customer_microdeposits_failed", "microdeposits_failed",
			"customer_microdeposits_maxattempts", "microdeposits_maxattempts",
		}, fundingSourceLost...),
		// A bank removed or unverified after a return long after it was
		// verified did not fail its verification; that is noted instead.
		SuccessIsFinal: true,
		AbandonAfter:   eventsAPIRetention,
	}
}

// REFERENCE §5.3, instant verification (open banking or a third party).
func instantVerification() Definition {
	return Definition{
		Key:  "bank_instant_verification",
		Name: "Bank verification, instant",
		Description: "A bank funding source verified at once through open banking or a third party. " +
			"It opens on verification, so it measures time to verify and flags slow ones; a failed instant " +
			"verification creates no funding source and so no event.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"funding-source"}},
		Start:       StartRule{Topics: cloneStrings(fundingSourceVerified)},
		Steps: []Step{
			{Key: "added", Name: "Bank added", Topics: cloneStrings(fundingSourceAdded)},
			{Key: "verified", Name: "Verified", Within: hour,
				Topics:      cloneStrings(fundingSourceVerified),
				Description: "Fired together with the add."},
		},
		SuccessTopics:  cloneStrings(fundingSourceVerified),
		FailureTopics:  cloneStrings(fundingSourceLost),
		SuccessIsFinal: true,
		// A micro-deposit event means the bank is on the other journey.
		ExcludeTopics: cloneStrings(microDepositTopics),
		AbandonAfter:  week,
	}
}

// REFERENCE §5.4. Customer and master-account topics share one journey per
// transfer resource: a transfer between the master account and a customer
// receives transfer_* and customer_transfer_* events for the same id
// (captures a5, a8, c1, v1), and splitting them would count one transfer
// twice and could show it completed on one side and failed on the other.
func transferJourney() Definition {
	return Definition{
		Key:  "transfer",
		Name: "Transfer",
		Description: "A transfer from a balance, or to or from an unverified customer's bank: created, then completed, " +
			"failed (ACH return) or cancelled. Sender and receiver get twin events; they count once.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"transfer"}},
		// Any event proves the transfer exists, and Dwolla may deliver the
		// completion before the creation.
		Start: StartRule{AnyTopic: true},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_transfer_created", "transfer_created"}},
			{Key: "completed", Name: "Completed", Within: week,
				Topics:      []string{"customer_transfer_completed", "transfer_completed"},
				Description: "Balance to balance is immediate; a standard ACH debit takes 3–4 business days."},
		},
		SuccessTopics: []string{"customer_transfer_completed", "transfer_completed"},
		// Not final: a completed transfer can still be returned (R01-late,
		// or an unauthorized-debit return up to 60 days on).
		FailureTopics: []string{
			"customer_transfer_failed", "transfer_failed",
			"customer_transfer_cancelled", "transfer_cancelled",
		},
		AbandonAfter: eventsAPIRetention,
	}
}

// REFERENCE §5.4: the legs between a bank and the Dwolla network, for a
// verified customer's bank or the master account's. Each leg is its own
// transfer resource, so bank legs never share an id with the transfer
// journey.
func bankTransferJourney() Definition {
	return Definition{
		Key:  "bank_transfer",
		Name: "Bank transfer leg",
		Description: "A leg between a verified customer's or the master account's bank and the Dwolla balance: " +
			"created, then completed, failed (ACH return), cancelled, or not created for lack of funds.",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"transfer"}},
		Start:       StartRule{AnyTopic: true},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_bank_transfer_created", "bank_transfer_created"}},
			{Key: "completed", Name: "Completed", Within: week,
				Topics:      []string{"customer_bank_transfer_completed", "bank_transfer_completed"},
				Description: "Standard ACH: debits 3–4, credits 1–2 business days."},
		},
		SuccessTopics: []string{"customer_bank_transfer_completed", "bank_transfer_completed"},
		FailureTopics: []string{
			"customer_bank_transfer_failed", "bank_transfer_failed",
			"customer_bank_transfer_cancelled", "bank_transfer_cancelled",
			"customer_bank_transfer_creation_failed", "bank_transfer_creation_failed",
		},
		AbandonAfter: eventsAPIRetention,
	}
}

// REFERENCE §5.5; master-account and customer mass payments share a journey
// for the same reason transfers do.
func massPaymentJourney() Definition {
	return Definition{
		Key:  "mass_payment",
		Name: "Mass payment",
		Description: "A mass payment job from created to completed (items may still have failed individually) or " +
			"cancelled (deferred jobs only).",
		Version:     1,
		Enabled:     true,
		Correlation: Correlation{By: ByResource, ResourceTypes: []string{"mass-payment"}},
		Start:       StartRule{AnyTopic: true},
		Steps: []Step{
			{Key: "created", Name: "Created", Topics: []string{"customer_mass_payment_created", "mass_payment_created"}},
			// 5,000 items at 0.5–1 s each is under 90 minutes; a day leaves
			// room for queueing and flags deferred jobs nobody released.
			{Key: "completed", Name: "Completed", Within: days,
				Topics: []string{"customer_mass_payment_completed", "mass_payment_completed"}},
		},
		SuccessTopics: []string{"customer_mass_payment_completed", "mass_payment_completed"},
		FailureTopics: []string{"customer_mass_payment_cancelled", "mass_payment_cancelled"},
		AbandonAfter:  eventsAPIRetention,
	}
}
