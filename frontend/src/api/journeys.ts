// Journeys: definitions, statistics with the step funnel, the instances
// (paged), one journey with its steps and events, and live updates.
import { useCallback, useEffect, useState } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import type { JourneyInstanceStatus, JourneyInstanceWhereInput, JourneyListItemFragment } from "../gql/graphql";
import { apiErrorFromCombined, type ApiError } from "./errors";
import { useCursorPages, type Pages } from "./paging";

export const journeyStatuses: readonly JourneyInstanceStatus[] = ["active", "stuck", "completed", "failed", "abandoned"];

export const JourneyDefinitionsQuery = graphql(`
  query JourneyDefinitions {
    journeyDefinitions {
      id
      key
      name
      description
      version
      enabled
      builtin
      customized
      correlation {
        by
        resourceTypes
      }
      start {
        anyTopic
        topics
      }
      steps {
        key
        name
        description
        topics
        within
        optional
        repeatable
      }
      successTopics
      failureTopics
      successIsFinal
      excludeTopics
      abandonAfter
      spec
    }
  }
`);

export const JourneyStatsQuery = graphql(`
  query JourneyStats($definition: String!, $from: Time, $to: Time) {
    journeyStats(definition: $definition, from: $from, to: $to) {
      definition
      from
      to
      instances
      byStatus {
        status
        count
      }
      successRate
      byOutcome {
        outcome
        count
      }
      completion {
        count
        avgSeconds
        p50Seconds
        p90Seconds
        unknown
      }
      steps {
        key
        name
        reached
        reachRate
        missed
        droppedOff
        dropOffRate
        waiting
        overLimit
        medianSincePreviousSeconds
      }
    }
  }
`);

export const JourneyListItem = graphql(`
  fragment JourneyListItem on JourneyInstance {
    id
    definitionKey
    correlationKey
    status
    currentStep
    currentStepName
    progress
    startedAt
    lastEventAt
    endedAt
    durationMs
    outcome
    endTopic
    failedAfterSuccess
    stuckSince
    note
    eventCount
    customerID
    resourceID
  }
`);

export const JourneysPageQuery = graphql(`
  query JourneysPage($where: JourneyInstanceWhereInput, $first: Int!, $after: Cursor) {
    journeys(where: $where, first: $first, after: $after, orderBy: [{ field: STARTED_AT, direction: DESC }]) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...JourneyListItem
        }
      }
    }
  }
`);

export const JourneyDetailQuery = graphql(`
  query JourneyDetail($id: ID!) {
    journey(id: $id) {
      ...JourneyListItem
      definitionVersion
      stuckAt
      abandonAt
      definition {
        key
        name
        description
      }
      steps {
        key
        name
        optional
        reached
        missed
        reachedAt
        eventID
        topic
        sincePreviousSeconds
        sinceStartSeconds
        limitSeconds
        withinLimit
        visits
      }
      unexpected {
        eventID
        topic
        at
        reason
      }
      notes
      customerIDs
      events {
        ...EventListItem
      }
    }
  }
`);

export const JourneyUpdatedSubscription = graphql(`
  subscription JourneyUpdated($definition: String) {
    journeyUpdated(definition: $definition) {
      ...JourneyListItem
    }
  }
`);

export const JourneyStuckSubscription = graphql(`
  subscription JourneyStuck($definition: String) {
    journeyStuck(definition: $definition) {
      ...JourneyListItem
    }
  }
`);

export const SetJourneyDefinitionEnabledMutation = graphql(`
  mutation SetJourneyDefinitionEnabled($key: String!, $enabled: Boolean!) {
    setJourneyDefinitionEnabled(key: $key, enabled: $enabled) {
      id
      enabled
      version
    }
  }
`);

export const RestoreJourneyDefinitionMutation = graphql(`
  mutation RestoreJourneyDefinition($key: String!) {
    restoreJourneyDefinition(key: $key) {
      id
      version
      customized
    }
  }
`);

export const ValidateJourneyDefinitionQuery = graphql(`
  query ValidateJourneyDefinition($input: JourneyDefinitionInput!) {
    validateJourneyDefinition(input: $input) {
      valid
      errors
      warnings
    }
  }
`);

export const CreateJourneyDefinitionMutation = graphql(`
  mutation CreateJourneyDefinition($input: JourneyDefinitionInput!) {
    createJourneyDefinition(input: $input) {
      definition {
        id
        key
        version
      }
      warnings
    }
  }
`);

export const UpdateJourneyDefinitionMutation = graphql(`
  mutation UpdateJourneyDefinition($input: JourneyDefinitionInput!) {
    updateJourneyDefinition(input: $input) {
      definition {
        id
        key
        version
      }
      warnings
    }
  }
`);

export function useCreateJourneyDefinition() {
  return useMutation(CreateJourneyDefinitionMutation);
}

export function useUpdateJourneyDefinition() {
  return useMutation(UpdateJourneyDefinitionMutation);
}

export function useJourneyDefinitions() {
  const [result, reexecute] = useQuery({ query: JourneyDefinitionsQuery, requestPolicy: "cache-and-network" });
  return {
    definitions: result.data?.journeyDefinitions ?? [],
    loaded: result.data !== undefined,
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    refresh: () => reexecute({ requestPolicy: "network-only" }),
  };
}

export function useJourneyStats(definition: string, from: Date | null, to: Date | null) {
  const [result, reexecute] = useQuery({
    query: JourneyStatsQuery,
    variables: { definition, from: from?.toISOString() ?? null, to: to?.toISOString() ?? null },
    pause: !definition,
    requestPolicy: "cache-and-network",
  });
  return {
    stats: result.data?.journeyStats ?? null,
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    retry: () => reexecute({ requestPolicy: "network-only" }),
  };
}

export const journeyPageSize = 50;

/** The journeys matching where, newest first, page by page. */
export function useJourneyList(where: JourneyInstanceWhereInput): Pages<JourneyListItemFragment> {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as JourneyInstanceWhereInput;
      const res = await client
        .query(
          JourneysPageQuery,
          { where: Object.keys(w).length ? w : null, first: journeyPageSize, after },
          { requestPolicy: "network-only" },
        )
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.journeys;
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

export function useJourneyDetail(id: string | null) {
  const [result, reexecute] = useQuery({ query: JourneyDetailQuery, variables: { id: id ?? "" }, pause: !id, requestPolicy: "cache-and-network" });
  return {
    journey: result.data?.journey ?? null,
    found: result.data ? result.data.journey !== null : null,
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    retry: () => reexecute({ requestPolicy: "network-only" }),
  };
}

/** Calls onUpdate for each journey change and onStuck when one becomes stuck, while mounted. */
export function useJourneyStream(
  definition: string | null,
  onUpdate: (j: JourneyListItemFragment) => void,
  onStuck: (j: JourneyListItemFragment) => void,
): ApiError | null {
  const client = useClient();
  const [error, setError] = useState<{ key: string; error: ApiError } | null>(null);
  const key = definition ?? "";
  useEffect(() => {
    const vars = { definition: key || null };
    const a = client.subscription(JourneyUpdatedSubscription, vars).subscribe((r) => {
      if (r.error) setError({ key, error: apiErrorFromCombined(r.error) });
      else if (r.data) onUpdate(r.data.journeyUpdated);
    });
    const b = client.subscription(JourneyStuckSubscription, vars).subscribe((r) => {
      if (r.error) setError({ key, error: apiErrorFromCombined(r.error) });
      else if (r.data) onStuck(r.data.journeyStuck);
    });
    return () => {
      a.unsubscribe();
      b.unsubscribe();
    };
  }, [client, key, onUpdate, onStuck]);
  return error?.key === key ? error.error : null;
}

export function useSetJourneyDefinitionEnabled() {
  return useMutation(SetJourneyDefinitionEnabledMutation);
}

export function useRestoreJourneyDefinition() {
  return useMutation(RestoreJourneyDefinitionMutation);
}
