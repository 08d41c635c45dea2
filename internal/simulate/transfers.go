package simulate

import "strings"

// Side is which party of a transfer an event is sent for.
type Side byte

// Sides of a transfer.
const (
	Sender   Side = 'S'
	Receiver Side = 'R'
)

// legEvent is one event of a transfer leg: its topic, the side it is sent
// for, and which of the kind's transfers (0, 1, 2) it is about.
type legEvent struct {
	Topic    string
	Side     Side
	Transfer int
}

// leg is the events fired together at one step of a transfer, after a gap
// of MinDays to MaxDays business days from the previous leg.
type leg struct {
	MinDays, MaxDays float64
	Events           []legEvent
}

// Party is who holds one end of a transfer.
type Party string

// Parties of a transfer.
const (
	PartyMaster     Party = "master"     // the Dwolla master account: events carry no customer link
	PartyVerified   Party = "verified"   // a verified customer
	PartyUnverified Party = "unverified" // an unverified (or receive-only) customer
)

// TransferKind is one kind of transfer in Dwolla's sandbox captures
// (testdata/captures, REFERENCE.md §5.4), with its legs in the captured
// topic order.
type TransferKind struct {
	// Name is the capture's file prefix (v6, a5, …).
	Name string
	// Title says what moves where.
	Title    string
	From, To Party
	legs     []leg
	// failLeg is the leg where an ACH return shows up (the leg whose
	// completions clear the bank debit or credit); failParty is whose bank
	// returned it.
	failLeg   int
	failParty Side
	// pushLeg is the leg that creates a push to a verified customer's bank
	// (-1: none); only such a push can fail on creation.
	pushLeg int
	// cancellable transfers have a leg that waits for export.
	cancellable bool
}

// Legs returns the kind's topics per leg, as "topic(S)" strings, to check
// the table against the captures.
func (k TransferKind) Legs() [][]string {
	out := make([][]string, len(k.legs))
	for i, l := range k.legs {
		for _, e := range l.Events {
			out[i] = append(out[i], e.Topic+"("+string(e.Side)+")")
		}
	}
	return out
}

// Transfer kinds, as captured. Leg gaps follow REFERENCE.md §5.4: an ACH
// debit clears in 3–4 business days, a credit in 1–2, and a balance-to-
// balance move at once.
var transferKinds = []TransferKind{
	{Name: "a1", Title: "master account bank to master account balance", From: PartyMaster, To: PartyMaster,
		legs: []leg{
			{0, 0, []legEvent{{"bank_transfer_created", Sender, 0}}},
			{3, 4, []legEvent{{"bank_transfer_completed", Sender, 0}}},
		}, failLeg: 1, failParty: Sender, pushLeg: -1, cancellable: true},
	{Name: "a5", Title: "master account bank to verified customer bank", From: PartyMaster, To: PartyVerified,
		legs: []leg{
			{0, 0, []legEvent{{"bank_transfer_created", Sender, 0}, {"transfer_created", Sender, 1}, {"customer_transfer_created", Receiver, 1}}},
			{3, 4, []legEvent{{"bank_transfer_completed", Sender, 0}, {"customer_transfer_completed", Receiver, 1}, {"transfer_completed", Receiver, 1}, {"customer_bank_transfer_created", Receiver, 2}}},
			{1, 2, []legEvent{{"customer_bank_transfer_completed", Receiver, 2}}},
		}, failLeg: 1, failParty: Sender, pushLeg: 1, cancellable: true},
	{Name: "a8", Title: "master account balance to unverified customer bank", From: PartyMaster, To: PartyUnverified,
		legs: []leg{
			{0, 0, []legEvent{{"transfer_created", Sender, 0}, {"customer_transfer_created", Receiver, 0}}},
			{1, 2, []legEvent{{"transfer_completed", Sender, 0}, {"customer_transfer_completed", Receiver, 0}}},
		}, failLeg: 1, failParty: Receiver, pushLeg: -1, cancellable: true},
	{Name: "c1", Title: "unverified customer bank to master account balance", From: PartyUnverified, To: PartyMaster,
		legs: []leg{
			{0, 0, []legEvent{{"customer_transfer_created", Sender, 0}, {"transfer_created", Receiver, 0}}},
			{3, 4, []legEvent{{"customer_transfer_completed", Sender, 0}, {"transfer_completed", Receiver, 0}}},
		}, failLeg: 1, failParty: Sender, pushLeg: -1, cancellable: true},
	{Name: "v1", Title: "verified customer bank to master account balance", From: PartyVerified, To: PartyMaster,
		legs: []leg{
			{0, 0, []legEvent{{"customer_bank_transfer_created", Sender, 0}, {"customer_transfer_created", Sender, 1}, {"transfer_created", Receiver, 1}}},
			{3, 4, []legEvent{{"customer_bank_transfer_completed", Sender, 0}, {"customer_transfer_completed", Sender, 1}, {"transfer_completed", Receiver, 1}}},
		}, failLeg: 1, failParty: Sender, pushLeg: -1, cancellable: true},
	{Name: "v5", Title: "verified customer bank to the same customer's balance", From: PartyVerified, To: PartyVerified,
		legs: []leg{
			{0, 0, []legEvent{{"customer_bank_transfer_created", Sender, 0}}},
			{3, 4, []legEvent{{"customer_bank_transfer_completed", Sender, 0}}},
		}, failLeg: 1, failParty: Sender, pushLeg: -1, cancellable: true},
	{Name: "v6", Title: "verified customer A bank to verified customer B bank", From: PartyVerified, To: PartyVerified,
		legs: []leg{
			{0, 0, []legEvent{{"customer_bank_transfer_created", Sender, 0}, {"customer_transfer_created", Sender, 1}, {"customer_transfer_created", Receiver, 1}}},
			{3, 4, []legEvent{{"customer_bank_transfer_completed", Sender, 0}, {"customer_transfer_completed", Sender, 1}, {"customer_transfer_completed", Receiver, 1}, {"customer_bank_transfer_created", Receiver, 2}}},
			{1, 2, []legEvent{{"customer_bank_transfer_completed", Receiver, 2}}},
		}, failLeg: 1, failParty: Sender, pushLeg: 1, cancellable: true},
	{Name: "v10", Title: "verified customer balance to unverified customer bank", From: PartyVerified, To: PartyUnverified,
		legs: []leg{
			{0, 0, []legEvent{{"customer_transfer_created", Sender, 0}, {"customer_transfer_created", Receiver, 0}}},
			{1, 2, []legEvent{{"customer_transfer_completed", Sender, 0}, {"customer_transfer_completed", Receiver, 0}}},
		}, failLeg: 1, failParty: Receiver, pushLeg: -1, cancellable: true},
	{Name: "v12", Title: "verified customer A balance to verified customer B bank", From: PartyVerified, To: PartyVerified,
		legs: []leg{
			{0, 0, []legEvent{{"customer_transfer_created", Sender, 0}, {"customer_transfer_created", Receiver, 0}}},
			{0, 0, []legEvent{{"customer_transfer_completed", Sender, 0}, {"customer_transfer_completed", Receiver, 0}, {"customer_bank_transfer_created", Receiver, 1}}},
			{1, 2, []legEvent{{"customer_bank_transfer_completed", Receiver, 1}}},
		}, failLeg: 2, failParty: Receiver, pushLeg: 1, cancellable: false},
}

// TransferKinds returns every captured kind of transfer.
func TransferKinds() []TransferKind { return append([]TransferKind(nil), transferKinds...) }

// LookupTransferKind finds a kind by name (v6, a5, …).
func LookupTransferKind(name string) (TransferKind, bool) {
	for _, k := range transferKinds {
		if k.Name == name {
			return k, true
		}
	}
	return TransferKind{}, false
}

// swapOutcome turns a *_created or *_completed topic into the same
// family's outcome (failed, cancelled, creation_failed).
func swapOutcome(topic, outcome string) string {
	for _, suffix := range []string{"_created", "_completed"} {
		if base, ok := strings.CutSuffix(topic, suffix); ok {
			return base + "_" + outcome
		}
	}
	return topic
}

// ReturnCode is an ACH return code with its effect on the bank.
type ReturnCode struct {
	Code        string
	Description string
	// removes the bank (customer_funding_source_removed); unverifies it;
	// deactivates the customer (R10-type codes).
	removes, unverifies, deactivates bool
	weight                           float64
}

// returnCodes are the returns the simulator draws, with rough weights.
var returnCodes = []ReturnCode{
	{"R01", "Insufficient Funds", false, false, false, 50},
	{"R02", "Account Closed", true, false, false, 10},
	{"R03", "No Account/Unable to Locate Account", true, false, false, 15},
	{"R04", "Invalid Account Number", true, false, false, 5},
	{"R10", "Customer Advises Not Authorized", true, false, true, 10},
	{"R16", "Account Frozen", false, true, false, 10},
}
