// Reconciliation and sync: the health score and its history, Dwolla's
// status, runs and their findings, and starting or resuming work.
import { useCallback, useEffect } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { ReconciliationFindingWhereInput } from "../gql/graphql";
import { apiErrorFromCombined } from "./errors";
import { useCursorPages } from "./paging";

export const ReconRunFields = graphql(`
  fragment ReconRunFields on ReconciliationRun {
    id
    status
    trigger
    windowStart
    windowEnd
    dwollaEvents
    missing
    imported
    failedDeliveries
    neverSent
    redeliveryRequested
    findingCount
    healthScore
    error
    startedAt
    finishedAt
  }
`);

export const SyncRunFields = graphql(`
  fragment SyncRunFields on SyncRun {
    id
    status
    trigger
    since
    pages
    seen
    imported
    alreadyPresent
    errors
    totalReported
    error
    resumedFrom
    startedAt
    finishedAt
    durationMs
  }
`);

export const FindingFields = graphql(`
  fragment FindingFields on ReconciliationFinding {
    id
    kind
    severity
    subject
    topic
    resourceID
    detail
    status
    autoResolved
    resolvedAt
    resolvedBy
    resolutionNote
    createdAt
  }
`);

export const ReconciliationOverviewQuery = graphql(`
  query ReconciliationOverview {
    health(history: 50) {
      score
      components {
        name
        weight
        score
        available
        note
      }
      history {
        at
        score
        runID
      }
      openFindings {
        kind
        count
      }
      run {
        id
        startedAt
        finishedAt
      }
    }
    dwollaStatus {
      configured
      apiURL
      breaker
      webhookURL
      subscription {
        id
        url
        paused
        created
      }
      error
    }
    reconciliationRuns(first: 20, orderBy: { field: STARTED_AT, direction: DESC }) {
      totalCount
      edges {
        node {
          ...ReconRunFields
        }
      }
    }
    syncRuns(first: 20, orderBy: { field: STARTED_AT, direction: DESC }) {
      totalCount
      edges {
        node {
          ...SyncRunFields
        }
      }
    }
  }
`);

export const FindingsPageQuery = graphql(`
  query FindingsPage($where: ReconciliationFindingWhereInput, $first: Int!, $after: Cursor) {
    reconciliationFindings(where: $where, first: $first, after: $after, orderBy: { field: CREATED_AT, direction: DESC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...FindingFields
        }
      }
    }
  }
`);

export const RunReconciliationMutation = graphql(`
  mutation RunReconciliation($window: String) {
    runReconciliation(window: $window) {
      ...ReconRunFields
    }
  }
`);

export const StartSyncMutation = graphql(`
  mutation StartSync($since: Time) {
    startSync(since: $since) {
      ...SyncRunFields
    }
  }
`);

export const ResumeSyncMutation = graphql(`
  mutation ResumeSync($id: ID!) {
    resumeSync(id: $id) {
      ...SyncRunFields
    }
  }
`);

export const ResolveFindingMutation = graphql(`
  mutation ResolveFinding($id: ID!, $note: String!) {
    resolveFinding(id: $id, note: $note) {
      ...FindingFields
    }
  }
`);

export const ReconciliationProgressSubscription = graphql(`
  subscription ReconciliationProgress {
    reconciliationProgress {
      ...ReconRunFields
    }
  }
`);

export const SyncProgressSubscription = graphql(`
  subscription SyncProgress {
    syncProgress {
      ...SyncRunFields
    }
  }
`);

export function useReconciliationOverview() {
  const [result, reexecute] = useQuery({ query: ReconciliationOverviewQuery, requestPolicy: "cache-and-network" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  return {
    data: result.data ?? null,
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    refresh,
  };
}

export function runEnded(status: string): boolean {
  return status !== "running";
}

/**
 * Follows every reconciliation and sync run as it changes; when one ends,
 * calls onEnded (to reload the health score and findings).
 */
export function useRunProgress(onChange: () => void, onEnded: () => void) {
  const client = useClient();
  useEffect(() => {
    const a = client.subscription(ReconciliationProgressSubscription, {}).subscribe((r) => {
      const run = r.data?.reconciliationProgress;
      if (!run) return;
      onChange();
      if (runEnded(run.status)) onEnded();
    });
    const b = client.subscription(SyncProgressSubscription, {}).subscribe((r) => {
      const run = r.data?.syncProgress;
      if (!run) return;
      onChange();
      if (runEnded(run.status)) onEnded();
    });
    return () => {
      a.unsubscribe();
      b.unsubscribe();
    };
  }, [client, onChange, onEnded]);
}

export function useFindings(where: ReconciliationFindingWhereInput) {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as ReconciliationFindingWhereInput;
      const res = await client
        .query(FindingsPageQuery, { where: Object.keys(w).length ? w : null, first: 50, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.reconciliationFindings;
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

export function useRunReconciliation() {
  return useMutation(RunReconciliationMutation);
}

export function useStartSync() {
  return useMutation(StartSyncMutation);
}

export function useResumeSync() {
  return useMutation(ResumeSyncMutation);
}

export function useResolveFinding() {
  return useMutation(ResolveFindingMutation);
}
