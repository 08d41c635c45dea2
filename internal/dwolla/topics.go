package dwolla

import "sort"

// Outcome classifies what a topic says about its resource.
type Outcome string

// Outcomes of a topic for the instance of the resource it is about.
const (
	OutcomeNone    Outcome = ""        // a step or a notice
	OutcomeSuccess Outcome = "success" // a good terminal state (completed, verified)
	OutcomeFailure Outcome = "failure" // a bad terminal state (failed, cancelled, suspended)
)

// Topic describes one Dwolla webhook topic.
type Topic struct {
	Name        string
	Resource    string  // the resource kind the event is about
	Family      string  // a group of topics analysed together (transfer, customer_verification, …)
	Description string  // what happened, in one line
	Terminal    bool    // a terminal outcome for that resource instance
	Outcome     Outcome // success, failure, or none
}

// topicCatalogue lists Dwolla Balance topics (REFERENCE.md §3). A "completed"
// transfer is terminal yet may still fail later on a late ACH return.
var topicCatalogue = []Topic{
	// §3.1 master account
	{"account_suspended", "account", "account", "The master account was suspended.", false, OutcomeFailure},
	{"account_activated", "account", "account", "The master account returned to active.", false, OutcomeSuccess},
	{"statement_created", "statement", "statement", "A monthly statement was created.", false, OutcomeNone},

	// §3.2 master-account funding sources and micro-deposits
	{"funding_source_added", "funding-source", "funding_source", "A bank was added to the master account.", false, OutcomeNone},
	{"funding_source_removed", "funding-source", "funding_source", "A bank was removed, by API or by Dwolla after certain returns.", true, OutcomeNone},
	{"funding_source_verified", "funding-source", "funding_source", "A bank was verified.", false, OutcomeSuccess},
	{"funding_source_unverified", "funding-source", "funding_source", "A bank was unverified after a return.", false, OutcomeFailure},
	{"funding_source_negative", "funding-source", "funding_source", "The balance went below zero.", false, OutcomeNone},
	{"funding_source_updated", "funding-source", "funding_source", "A bank was changed by the admin or a bank correction.", false, OutcomeNone},
	{"microdeposits_added", "funding-source", "microdeposits", "Two micro-deposits were initiated.", false, OutcomeNone},
	{"microdeposits_failed", "funding-source", "microdeposits", "The micro-deposits were returned or the bank removed before export.", true, OutcomeFailure},
	{"microdeposits_completed", "funding-source", "microdeposits", "The micro-deposits settled and can be verified.", false, OutcomeNone},
	{"microdeposits_maxattempts", "funding-source", "microdeposits", "The micro-deposit verification attempt limit was hit.", true, OutcomeFailure},

	// §3.3 master-account transfers and mass payments
	{"bank_transfer_created", "transfer", "bank_transfer", "A bank-to-balance leg was created.", false, OutcomeNone},
	{"bank_transfer_creation_failed", "transfer", "bank_transfer", "A push to the bank could not be created (balance too low).", true, OutcomeFailure},
	{"bank_transfer_cancelled", "transfer", "bank_transfer", "A bank transfer was cancelled.", true, OutcomeFailure},
	{"bank_transfer_failed", "transfer", "bank_transfer", "A bank transfer failed (ACH return).", true, OutcomeFailure},
	{"bank_transfer_completed", "transfer", "bank_transfer", "A bank transfer cleared.", true, OutcomeSuccess},
	{"transfer_created", "transfer", "transfer", "A transfer touching the master account was created.", false, OutcomeNone},
	{"transfer_cancelled", "transfer", "transfer", "A transfer was cancelled.", true, OutcomeFailure},
	{"transfer_failed", "transfer", "transfer", "A transfer failed (ACH return).", true, OutcomeFailure},
	{"transfer_completed", "transfer", "transfer", "A transfer cleared.", true, OutcomeSuccess},
	{"mass_payment_created", "mass-payment", "mass_payment", "A mass payment was created.", false, OutcomeNone},
	{"mass_payment_completed", "mass-payment", "mass_payment", "A mass payment finished (items may still have failed).", true, OutcomeSuccess},
	{"mass_payment_cancelled", "mass-payment", "mass_payment", "A deferred mass payment was cancelled.", true, OutcomeFailure},

	// §3.4 customers
	{"customer_created", "customer", "customer_verification", "A customer was created.", false, OutcomeNone},
	{"customer_reverification_needed", "customer", "customer_verification", "Verification needs a retry with more detail.", false, OutcomeNone},
	{"customer_kba_verification_needed", "customer", "customer_verification", "The customer must answer KBA questions.", false, OutcomeNone},
	{"customer_kba_verification_passed", "customer", "customer_verification", "The customer passed KBA.", false, OutcomeNone},
	{"customer_kba_verification_failed", "customer", "customer_verification", "The customer failed KBA and must upload a document.", false, OutcomeNone},
	{"customer_verification_document_needed", "customer", "customer_verification", "The customer must upload an identity document.", false, OutcomeNone},
	{"customer_verification_document_uploaded", "document", "customer_verification", "An identity document was uploaded.", false, OutcomeNone},
	{"customer_verification_document_approved", "document", "customer_verification", "An identity document was approved.", true, OutcomeSuccess},
	{"customer_verification_document_failed", "document", "customer_verification", "An identity document was rejected.", true, OutcomeFailure},
	{"customer_verification_pending_review", "customer", "customer_verification", "Verification is under manual review.", false, OutcomeNone},
	{"customer_address_verification_failed", "customer", "customer_verification", "The customer's address could not be verified.", false, OutcomeNone},
	{"customer_verified", "customer", "customer_verification", "The customer was verified.", false, OutcomeSuccess},
	{"customer_suspended", "customer", "customer_verification", "The customer was suspended.", false, OutcomeFailure},
	{"customer_activated", "customer", "customer_verification", "The customer returned to active.", false, OutcomeSuccess},
	{"customer_deactivated", "customer", "customer_verification", "The customer was deactivated.", false, OutcomeFailure},

	// §3.5 beneficial owners
	{"customer_beneficial_owner_created", "beneficial-owner", "beneficial_owner", "A beneficial owner was added.", false, OutcomeNone},
	{"customer_beneficial_owner_removed", "beneficial-owner", "beneficial_owner", "A beneficial owner was removed.", true, OutcomeNone},
	{"customer_beneficial_owner_reverification_needed", "beneficial-owner", "beneficial_owner", "A beneficial owner needs one more verification attempt.", false, OutcomeNone},
	{"customer_beneficial_owner_verification_document_needed", "beneficial-owner", "beneficial_owner", "A beneficial owner must upload a document.", false, OutcomeNone},
	{"customer_beneficial_owner_verification_document_uploaded", "document", "beneficial_owner", "A beneficial owner's document was uploaded.", false, OutcomeNone},
	{"customer_beneficial_owner_verification_document_approved", "document", "beneficial_owner", "A beneficial owner's document was approved.", false, OutcomeSuccess},
	{"customer_beneficial_owner_verification_document_failed", "document", "beneficial_owner", "A beneficial owner's document was rejected.", false, OutcomeFailure},
	{"customer_beneficial_owner_verified", "beneficial-owner", "beneficial_owner", "A beneficial owner was verified.", false, OutcomeSuccess},

	// §3.6 customer funding sources, micro-deposits, exchanges
	{"customer_funding_source_added", "funding-source", "funding_source", "A customer's bank was added.", false, OutcomeNone},
	{"customer_funding_source_removed", "funding-source", "funding_source", "A customer's bank was removed.", true, OutcomeNone},
	{"customer_funding_source_verified", "funding-source", "funding_source", "A customer's bank was verified.", false, OutcomeSuccess},
	{"customer_funding_source_unverified", "funding-source", "funding_source", "A customer's bank was unverified after a return.", false, OutcomeFailure},
	{"customer_funding_source_negative", "funding-source", "funding_source", "A customer's balance went negative.", false, OutcomeNone},
	{"customer_funding_source_updated", "funding-source", "funding_source", "A customer's bank was updated.", false, OutcomeNone},
	{"customer_funding_source_rtp_enabled", "funding-source", "funding_source", "A customer's bank is RTP-eligible.", false, OutcomeNone},
	{"customer_funding_source_rtp_disabled", "funding-source", "funding_source", "A customer's bank is no longer RTP-eligible.", false, OutcomeNone},
	{"customer_microdeposits_added", "funding-source", "microdeposits", "Micro-deposits to a customer's bank were initiated.", false, OutcomeNone},
	{"customer_microdeposits_completed", "funding-source", "microdeposits", "Micro-deposits to a customer's bank settled.", false, OutcomeNone},
	{"customer_microdeposits_failed", "funding-source", "microdeposits", "Micro-deposits to a customer's bank failed.", true, OutcomeFailure},
	{"customer_microdeposits_maxattempts", "funding-source", "microdeposits", "Three wrong micro-deposit amounts were entered.", true, OutcomeFailure},
	{"customer_exchange_reauth_required", "exchange", "exchange", "An open-banking connection must be re-authenticated.", false, OutcomeNone},

	// §3.7 customer transfers
	{"customer_bank_transfer_created", "transfer", "bank_transfer", "A leg between a verified customer's bank and Dwolla was created.", false, OutcomeNone},
	{"customer_bank_transfer_creation_failed", "transfer", "bank_transfer", "A push to a verified customer's bank failed for low balance.", true, OutcomeFailure},
	{"customer_bank_transfer_cancelled", "transfer", "bank_transfer", "A customer bank transfer was cancelled.", true, OutcomeFailure},
	{"customer_bank_transfer_failed", "transfer", "bank_transfer", "A customer bank transfer failed (ACH return).", true, OutcomeFailure},
	{"customer_bank_transfer_completed", "transfer", "bank_transfer", "A customer bank transfer cleared.", true, OutcomeSuccess},
	{"customer_transfer_created", "transfer", "transfer", "A customer transfer was created.", false, OutcomeNone},
	{"customer_transfer_cancelled", "transfer", "transfer", "A customer transfer was cancelled.", true, OutcomeFailure},
	{"customer_transfer_failed", "transfer", "transfer", "A customer transfer failed (ACH return).", true, OutcomeFailure},
	{"customer_transfer_completed", "transfer", "transfer", "A customer transfer cleared.", true, OutcomeSuccess},

	// §3.8 customer mass payments, balance checks, labels
	{"customer_mass_payment_created", "mass-payment", "mass_payment", "A customer's mass payment was created.", false, OutcomeNone},
	{"customer_mass_payment_completed", "mass-payment", "mass_payment", "A customer's mass payment finished.", true, OutcomeSuccess},
	{"customer_mass_payment_cancelled", "mass-payment", "mass_payment", "A customer's deferred mass payment was cancelled.", true, OutcomeFailure},
	{"customer_balance_inquiry_completed", "balance-check", "balance", "An asynchronous bank-balance check finished.", false, OutcomeNone},
	{"customer_label_created", "label", "label", "A label was created.", false, OutcomeNone},
	{"customer_label_ledger_entry_created", "label-ledger-entry", "label", "A label was debited or credited.", false, OutcomeNone},
	{"customer_label_removed", "label", "label", "A label was removed.", true, OutcomeNone},
}

var topicIndex = func() map[string]Topic {
	m := make(map[string]Topic, len(topicCatalogue))
	for _, t := range topicCatalogue {
		m[t.Name] = t
	}
	return m
}()

// LookupTopic returns the catalogue entry for name.
func LookupTopic(name string) (Topic, bool) {
	t, ok := topicIndex[name]
	return t, ok
}

// KnownTopic reports whether name is in the catalogue.
func KnownTopic(name string) bool {
	_, ok := topicIndex[name]
	return ok
}

// Topics returns the catalogue sorted by name.
func Topics() []Topic {
	out := make([]Topic, len(topicCatalogue))
	copy(out, topicCatalogue)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
