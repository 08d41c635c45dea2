// Every webhook delivery received, accepted or rejected: the place to see
// duplicates, bad signatures and floods.
import { useCallback, useEffect, useState } from "react";
import { useClient } from "urql";
import { graphql } from "../gql";
import type { DeliveryCountsQueryVariables, WebhookDeliveryOutcome, WebhookDeliveryWhereInput } from "../gql/graphql";
import { apiErrorFromCombined, type ApiError } from "./errors";
import { useCursorPages } from "./paging";

export const deliveryOutcomes: readonly WebhookDeliveryOutcome[] = [
  "accepted",
  "duplicate",
  "bad_signature",
  "malformed",
  "too_large",
  "rate_limited",
  "unavailable",
  "forbidden",
  "not_configured",
];

export const DeliveriesPageQuery = graphql(`
  query DeliveriesPage($where: WebhookDeliveryWhereInput, $first: Int!, $after: Cursor) {
    deliveries(where: $where, first: $first, after: $after, orderBy: { field: RECEIVED_AT, direction: DESC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          receivedAt
          remoteAddr
          outcome
          statusCode
          latencyMs
          bodySize
          dwollaEventID
          topicHeader
          userAgent
          requestID
          reason
        }
      }
    }
  }
`);

// One count per outcome in one request, with the page's filters.
export const DeliveryCountsQuery = graphql(`
  query DeliveryCounts(
    $accepted: WebhookDeliveryWhereInput!
    $duplicate: WebhookDeliveryWhereInput!
    $bad_signature: WebhookDeliveryWhereInput!
    $malformed: WebhookDeliveryWhereInput!
    $too_large: WebhookDeliveryWhereInput!
    $rate_limited: WebhookDeliveryWhereInput!
    $unavailable: WebhookDeliveryWhereInput!
    $forbidden: WebhookDeliveryWhereInput!
    $not_configured: WebhookDeliveryWhereInput!
  ) {
    accepted: deliveries(where: $accepted) { totalCount }
    duplicate: deliveries(where: $duplicate) { totalCount }
    bad_signature: deliveries(where: $bad_signature) { totalCount }
    malformed: deliveries(where: $malformed) { totalCount }
    too_large: deliveries(where: $too_large) { totalCount }
    rate_limited: deliveries(where: $rate_limited) { totalCount }
    unavailable: deliveries(where: $unavailable) { totalCount }
    forbidden: deliveries(where: $forbidden) { totalCount }
    not_configured: deliveries(where: $not_configured) { totalCount }
  }
`);

/** The counts query's variables: the filter (without an outcome) narrowed to each outcome. */
export function outcomeCountVariables(base: WebhookDeliveryWhereInput): DeliveryCountsQueryVariables {
  const rest = { ...base };
  delete rest.outcome;
  const vars: Record<string, WebhookDeliveryWhereInput> = {};
  for (const o of deliveryOutcomes) vars[o] = { ...rest, outcome: o };
  return vars as DeliveryCountsQueryVariables;
}

export function useDeliveries(where: WebhookDeliveryWhereInput) {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as WebhookDeliveryWhereInput;
      const res = await client
        .query(DeliveriesPageQuery, { where: Object.keys(w).length ? w : null, first: 100, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.deliveries;
      return {
        nodes: (conn?.edges ?? []).flatMap((e) => (e?.node ? [e.node] : [])),
        totalCount: conn?.totalCount ?? 0,
        endCursor: conn?.pageInfo.endCursor ?? null,
        hasMore: conn?.pageInfo.hasNextPage ?? false,
      };
    },
    [client, key],
  );
  return useCursorPages(key, load);
}

/**
 * Deliveries counted by outcome. A new reloadKey starts from nothing; a new
 * liveKey (a live update) keeps the counts shown until the new ones arrive.
 */
export function useDeliveryCounts(where: WebhookDeliveryWhereInput, reloadKey: number, liveKey = 0) {
  const client = useClient();
  const base = JSON.stringify([where, reloadKey]);
  const key = JSON.stringify([where, reloadKey, liveKey]);
  const [state, setState] = useState<{ key: string; base: string; counts: Map<WebhookDeliveryOutcome, number> | null; error: ApiError | null }>({
    key: "",
    base: "",
    counts: null,
    error: null,
  });
  useEffect(() => {
    let cancelled = false;
    const [w, r] = JSON.parse(key) as [WebhookDeliveryWhereInput, number, number];
    const b = JSON.stringify([w, r]);
    void client
      .query(DeliveryCountsQuery, outcomeCountVariables(w), { requestPolicy: "network-only" })
      .toPromise()
      .then((res) => {
        if (cancelled) return;
        if (res.error) {
          setState({ key, base: b, counts: null, error: apiErrorFromCombined(res.error) });
          return;
        }
        const data = res.data;
        const counts = new Map<WebhookDeliveryOutcome, number>();
        if (data) for (const o of deliveryOutcomes) counts.set(o, data[o].totalCount);
        setState({ key, base: b, counts, error: null });
      });
    return () => {
      cancelled = true;
    };
  }, [client, key]);
  if (state.key === key) return state;
  return state.base === base ? { ...state, key } : { key, base, counts: null, error: null };
}
