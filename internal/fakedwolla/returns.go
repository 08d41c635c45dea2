package fakedwolla

import "strings"

// ReturnCode is an ACH return code as Dwolla's failure resource describes
// it (GET /transfers/{id}/failure), with what the return does to the bank
// and its owner (REFERENCE.md §5.3).
type ReturnCode struct {
	Code        string
	Description string
	Explanation string
	// Removes the bank (funding_source_removed), Unverifies it
	// (funding_source_unverified), Deactivates the customer (R10-type).
	Removes, Unverifies, Deactivates bool
}

// returnCodes are the ACH returns the fake knows, in code order.
var returnCodes = []ReturnCode{
	{Code: "R01", Description: "Insufficient Funds", Explanation: "Available balance is not sufficient to cover the dollar value of the debit entry."},
	{Code: "R02", Description: "Account Closed", Explanation: "Previously active account has been closed by customer or RDFI.", Removes: true},
	{Code: "R03", Description: "No Account/Unable to Locate Account", Explanation: "Account number structure is valid, but doesn't match individual identified in entry or is not an open account.", Removes: true},
	{Code: "R04", Description: "Invalid Account Number", Explanation: "Account number structure is not valid.", Removes: true},
	{Code: "R05", Description: "Unauthorized Debit to Consumer Account Using Corporate SEC Code", Explanation: "A CCD, CTX, or CBR debit entry was transmitted to a Consumer Account of the Receiver and was not authorized by the Receiver."},
	{Code: "R07", Description: "Authorization Revoked by Customer", Explanation: "Consumer, who previously authorized entries, has revoked authorization with the Originator.", Removes: true},
	{Code: "R08", Description: "Payment Stopped", Explanation: "The Receiver has placed a stop payment order on this debit entry."},
	{Code: "R09", Description: "Uncollected Funds", Explanation: "Sufficient balance exists, but value of uncollected items brings available balance below amount of debit entry."},
	{Code: "R10", Description: "Customer Advises Not Authorized", Explanation: "Customer has advised RDFI that Originator of transaction is not authorized to debit account.", Removes: true, Deactivates: true},
	{Code: "R16", Description: "Account Frozen", Explanation: "Access to account is restricted due to specific action taken by the RDFI or by legal action.", Unverifies: true},
	{Code: "R20", Description: "Non-Transaction Account", Explanation: "Policies or regulations (such as Regulation D) prohibit or limit activity to the account indicated.", Removes: true},
	{Code: "R29", Description: "Corporate Customer Advises Not Authorized", Explanation: "The RDFI has been notified by business account holder that a specific transaction is unauthorized.", Removes: true, Deactivates: true},
}

// LookupReturnCode finds an ACH return code (R01, r03, …).
func LookupReturnCode(code string) (ReturnCode, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	for _, rc := range returnCodes {
		if rc.Code == code {
			return rc, true
		}
	}
	return ReturnCode{}, false
}

// ReturnCodes lists every ACH return code the fake knows.
func ReturnCodes() []ReturnCode { return append([]ReturnCode(nil), returnCodes...) }

// magicReturn reads a sandbox funding-source name: "R01" fails the
// transfers that touch the bank with R01; "R01-late" lets them complete,
// then fails them on the next simulation (DP testing/transfers.mdx).
func magicReturn(name string) (rc ReturnCode, late, ok bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if base, cut := strings.CutSuffix(n, "-LATE"); cut {
		n, late = base, true
	}
	rc, ok = LookupReturnCode(n)
	return rc, late, ok
}
