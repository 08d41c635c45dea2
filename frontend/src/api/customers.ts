// One customer's view (everything hooklens knows about one Dwolla customer)
// and the enrichment status it depends on.
import { useCallback } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { apiErrorFromCombined } from "./errors";

export const CustomerPageQuery = graphql(`
  query CustomerPage($id: String!) {
    enrichment {
      enabled
      pending
      lag
    }
    customer(id: $id) {
      id
      enrichment
      status
      type
      displayName
      fundingSources {
        id
        type
        bankAccountType
        status
        removed
        displayName
      }
      transfers {
        id
        direction
        status
        amount
        currency
        created
        correlationId
        failureCode
        failureDescription
        lateReturn
        counterparty
      }
      money {
        currency
        total {
          count
          amount
        }
        inFlight {
          count
          amount
        }
        failed {
          count
          amount
        }
        returned {
          count
          amount
        }
        returnCodes {
          code
          description
          count
          amount
        }
      }
      journeys {
        id
        definition
        status
        step
        startedAt
        endedAt
      }
      events {
        id
        eventId
        topic
        resourceId
        createdAt
      }
      findings {
        id
        kind
        subject
        resourceId
      }
    }
  }
`);

/** Loads a customer's view; refresh() asks again (for live updates). */
export function useCustomer(id: string) {
  const [result, reexecute] = useQuery({ query: CustomerPageQuery, variables: { id }, requestPolicy: "network-only" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  return {
    customer: result.data?.customer ?? null,
    enrichment: result.data?.enrichment ?? null,
    loaded: !!result.data,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    refresh,
  };
}

/** A Dwolla id as the customer view accepts it. */
export function isCustomerID(s: string): boolean {
  return /^[0-9a-fA-F-]{8,64}$/.test(s.trim());
}
