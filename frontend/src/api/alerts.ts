// Alerts: firing and past alerts, the rules that raise them, the channels
// that carry them, and live changes.
import { useCallback, useEffect } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { AlertWhereInput } from "../gql/graphql";
import { apiErrorFromCombined } from "./errors";
import { useCursorPages } from "./paging";

export const AlertFields = graphql(`
  fragment AlertFields on Alert {
    id
    ruleKey
    status
    severity
    title
    message
    value
    threshold
    startedAt
    lastEvaluatedAt
    lastNotifiedAt
    notifications
    acknowledgedAt
    acknowledgedBy
    resolvedAt
    resolvedBy
    resolutionNote
    rule {
      id
      name
      condition
    }
  }
`);

export const AlertRuleFields = graphql(`
  fragment AlertRuleFields on AlertRule {
    id
    key
    name
    condition
    threshold
    window
    for
    renotify
    severity
    notifyResolved
    enabled
    builtin
    params
    pendingSince
    channels {
      id
      name
    }
  }
`);

export const AlertChannelFields = graphql(`
  fragment AlertChannelFields on AlertChannel {
    id
    name
    kind
    urlHint
    enabled
    signed
    lastSuccessAt
    lastFailureAt
    lastError
  }
`);

export const AlertsPageQuery = graphql(`
  query AlertsPage($where: AlertWhereInput, $first: Int!, $after: Cursor) {
    alerts(where: $where, first: $first, after: $after, orderBy: { field: STARTED_AT, direction: DESC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...AlertFields
        }
      }
    }
  }
`);

export const AlertDeliveryRow = graphql(`
  fragment AlertDeliveryRow on AlertDelivery {
    at
    channel
    kind
    event
    ok
    attempts
    status
    error
    durationMs
  }
`);

export const AlertNotificationsQuery = graphql(`
  query AlertNotifications($id: ID!) {
    node(id: $id) {
      ... on Alert {
        id
        notificationLog {
          ...AlertDeliveryRow
        }
      }
    }
  }
`);

/** One alert with its notification log, for its own page (/alerts/:id, where notifications link). */
export const AlertDetailQuery = graphql(`
  query AlertDetail($id: ID!) {
    node(id: $id) {
      __typename
      ... on Alert {
        ...AlertFields
        notificationLog {
          ...AlertDeliveryRow
        }
      }
    }
  }
`);

export const AlertSetupQuery = graphql(`
  query AlertSetup {
    alertRules {
      ...AlertRuleFields
    }
    alertChannels {
      ...AlertChannelFields
    }
    alertConditions {
      name
      description
      unit
      below
      usesThreshold
      window
      params {
        name
        description
        type
        values
        default
      }
    }
  }
`);

export const AlertChangedSubscription = graphql(`
  subscription AlertChanged {
    alertChanged {
      ...AlertFields
    }
  }
`);

export const AcknowledgeAlertMutation = graphql(`
  mutation AcknowledgeAlert($id: ID!) {
    acknowledgeAlert(id: $id) {
      ...AlertFields
    }
  }
`);

export const ResolveAlertMutation = graphql(`
  mutation ResolveAlert($id: ID!, $note: String!) {
    resolveAlert(id: $id, note: $note) {
      ...AlertFields
    }
  }
`);

export const CreateAlertRuleMutation = graphql(`
  mutation CreateAlertRule($input: CreateAlertRuleInput!) {
    createAlertRule(input: $input) {
      ...AlertRuleFields
    }
  }
`);

export const SetAlertRuleEnabledMutation = graphql(`
  mutation SetAlertRuleEnabled($id: ID!, $enabled: Boolean!) {
    setAlertRuleEnabled(id: $id, enabled: $enabled) {
      id
      enabled
    }
  }
`);

export const DeleteAlertRuleMutation = graphql(`
  mutation DeleteAlertRule($id: ID!) {
    deleteAlertRule(id: $id)
  }
`);

export const RestoreAlertRuleMutation = graphql(`
  mutation RestoreAlertRule($id: ID!) {
    restoreAlertRule(id: $id) {
      ...AlertRuleFields
    }
  }
`);

export const CreateAlertChannelMutation = graphql(`
  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {
    createAlertChannel(input: $input) {
      ...AlertChannelFields
    }
  }
`);

export const SetAlertChannelEnabledMutation = graphql(`
  mutation SetAlertChannelEnabled($id: ID!, $enabled: Boolean!) {
    setAlertChannelEnabled(id: $id, enabled: $enabled) {
      id
      enabled
    }
  }
`);

export const DeleteAlertChannelMutation = graphql(`
  mutation DeleteAlertChannel($id: ID!) {
    deleteAlertChannel(id: $id)
  }
`);

export const TestAlertChannelMutation = graphql(`
  mutation TestAlertChannel($id: ID!) {
    testAlertChannel(id: $id) {
      at
      ok
      attempts
      status
      error
      durationMs
    }
  }
`);

export function useAlerts(where: AlertWhereInput) {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as AlertWhereInput;
      const res = await client
        .query(AlertsPageQuery, { where: Object.keys(w).length ? w : null, first: 50, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.alerts;
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

export function useAlertSetup() {
  const [result, reexecute] = useQuery({ query: AlertSetupQuery, requestPolicy: "cache-and-network" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  return {
    rules: result.data?.alertRules ?? [],
    channels: result.data?.alertChannels ?? [],
    conditions: result.data?.alertConditions ?? [],
    loaded: result.data !== undefined,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    refresh,
  };
}

export function useAlertNotifications(id: string | null) {
  const [result] = useQuery({ query: AlertNotificationsQuery, variables: { id: id ?? "" }, pause: !id, requestPolicy: "network-only" });
  const node = result.data?.node;
  return {
    log: node && "notificationLog" in node ? node.notificationLog : [],
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
  };
}

export function useAlert(id: string) {
  const [result, reexecute] = useQuery({ query: AlertDetailQuery, variables: { id }, requestPolicy: "cache-and-network" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  const node = result.data?.node;
  const alert = node?.__typename === "Alert" ? node : null;
  const error = result.error ? apiErrorFromCombined(result.error) : null;
  // The server answers an unknown id with NOT_FOUND: that is an answer, not a failure.
  const missing = error?.code === "NOT_FOUND";
  return {
    alert,
    /** False once the server answered that no alert has this id. */
    found: missing ? false : result.data ? alert !== null : null,
    error: missing ? null : error,
    refresh,
  };
}

/** Calls onChange for every alert that fires, re-notifies, is acknowledged or resolves. */
export function useAlertStream(onChange: () => void) {
  const client = useClient();
  useEffect(() => {
    const sub = client.subscription(AlertChangedSubscription, {}).subscribe((r) => {
      if (r.data) onChange();
    });
    return () => sub.unsubscribe();
  }, [client, onChange]);
}

export const useAcknowledgeAlert = () => useMutation(AcknowledgeAlertMutation);
export const useResolveAlert = () => useMutation(ResolveAlertMutation);
export const useCreateAlertRule = () => useMutation(CreateAlertRuleMutation);
export const useSetAlertRuleEnabled = () => useMutation(SetAlertRuleEnabledMutation);
export const useDeleteAlertRule = () => useMutation(DeleteAlertRuleMutation);
export const useRestoreAlertRule = () => useMutation(RestoreAlertRuleMutation);
export const useCreateAlertChannel = () => useMutation(CreateAlertChannelMutation);
export const useSetAlertChannelEnabled = () => useMutation(SetAlertChannelEnabledMutation);
export const useDeleteAlertChannel = () => useMutation(DeleteAlertChannelMutation);
export const useTestAlertChannel = () => useMutation(TestAlertChannelMutation);
