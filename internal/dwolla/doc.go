// Package dwolla knows Dwolla's webhook and API conventions: how a webhook is
// signed, what an event body holds, which topics exist and what they mean.
//
// It is pure: it never touches the database or the network (the API client
// lives in client.go and takes its HTTP client from the caller). Facts come
// from ../shared/dwolla/REFERENCE.md; keep the two in step.
package dwolla
