// Anomalies the scanner found in the rollups: the list (cursor pages),
// live changes, acknowledging and resolving, and the series to chart one
// against what was expected.
import { useCallback, useEffect } from "react";
import { useClient, useMutation } from "urql";
import { graphql } from "../gql";
import type { AnomalyFieldsFragment, AnomalyWhereInput } from "../gql/graphql";
import { contextPlan, contextValues, type ContextPlan } from "../lib/anomalies";
import { useEventStats, useOverviewSeries } from "./analytics";
import { apiErrorFromCombined } from "./errors";
import { useCursorPages } from "./paging";

export const AnomalyFields = graphql(`
  fragment AnomalyFields on Anomaly {
    id
    key
    type
    subject
    severity
    status
    windowStart
    windowEnd
    observed
    expected
    expectedLow
    expectedHigh
    peakObserved
    score
    explanation
    firstSeenAt
    lastSeenAt
    acknowledgedAt
    acknowledgedBy
    resolvedAt
    resolvedBy
    resolutionNote
  }
`);

export const AnomaliesPageQuery = graphql(`
  query AnomaliesPage($where: AnomalyWhereInput, $first: Int!, $after: Cursor) {
    anomalies(where: $where, first: $first, after: $after, orderBy: { field: FIRST_SEEN_AT, direction: DESC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...AnomalyFields
        }
      }
    }
  }
`);

export const AnomalyDetectedSubscription = graphql(`
  subscription AnomalyDetected {
    anomalyDetected {
      ...AnomalyFields
    }
  }
`);

export const AcknowledgeAnomalyMutation = graphql(`
  mutation AcknowledgeAnomaly($id: ID!) {
    acknowledgeAnomaly(id: $id) {
      ...AnomalyFields
    }
  }
`);

export const ResolveAnomalyMutation = graphql(`
  mutation ResolveAnomaly($id: ID!, $note: String) {
    resolveAnomaly(id: $id, note: $note) {
      ...AnomalyFields
    }
  }
`);

export function useAnomalies(where: AnomalyWhereInput) {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as AnomalyWhereInput;
      const res = await client
        .query(AnomaliesPageQuery, { where: Object.keys(w).length ? w : null, first: 50, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.anomalies;
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

/** Calls onChange with every anomaly opened, escalated, acknowledged or resolved. */
export function useAnomalyStream(onChange: (a: AnomalyFieldsFragment) => void) {
  const client = useClient();
  useEffect(() => {
    const sub = client.subscription(AnomalyDetectedSubscription, {}).subscribe((r) => {
      if (r.data) onChange(r.data.anomalyDetected);
    });
    return () => sub.unsubscribe();
  }, [client, onChange]);
}

export const useAcknowledgeAnomaly = () => useMutation(AcknowledgeAnomalyMutation);
export const useResolveAnomaly = () => useMutation(ResolveAnomalyMutation);

/**
 * The measured series around an anomaly, where the API keeps one for its
 * type (see lib/anomalies): per-family event counts from eventStats, or
 * the overview's delivery and processing series. Types without one get
 * no series: the chart then shows the window's figures only.
 */
export function useAnomalyContext(a: AnomalyFieldsFragment, now: Date) {
  const plan: ContextPlan = contextPlan(a, now);
  const statsFilter =
    plan.source === "eventStats"
      ? { from: plan.from.toISOString(), to: plan.to.toISOString(), granularity: plan.granularity, ...(plan.family ? { families: [plan.family] } : {}) }
      : null;
  const stats = useEventStats(statsFilter);
  const overview = useOverviewSeries(
    plan.source === "overview" ? { from: plan.from.toISOString(), to: plan.to.toISOString(), granularity: plan.granularity } : null,
  );
  const loading = plan.source === "eventStats" ? stats.loading : plan.source === "overview" ? overview.loading : false;
  const error = plan.source === "eventStats" ? stats.error : plan.source === "overview" ? overview.error : null;
  const points = contextValues(a.type, plan, stats.stats, overview.series);
  return { plan, points, loading, error };
}
