// Events: the log (cursor pages), one event with its deliveries, and the
// timeline counted on the server.
import { useCallback, useEffect, useReducer } from "react";
import { useClient, useQuery } from "urql";
import { graphql } from "../gql";
import type { EventListItemFragment, EventTimelineQueryVariables, WebhookEventWhereInput } from "../gql/graphql";
import { eventWhere, type EventFilters } from "../lib/eventFilters";
import { resolveTimeRange, splitRange, type TimeRange } from "../lib/timeRange";
import { apiErrorFromCombined, type ApiError } from "./errors";

export const EventsPageQuery = graphql(`
  query EventsPage($where: WebhookEventWhereInput, $first: Int!, $after: Cursor) {
    events(where: $where, first: $first, after: $after, orderBy: [{ field: RECEIVED_AT, direction: DESC }]) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...EventListItem
        }
      }
    }
  }
`);

export const EventDetailQuery = graphql(`
  query EventDetail($eventID: String!) {
    event(eventID: $eventID) {
      id
      eventID
      topic
      headerTopic
      topicMismatch
      topicKnown
      resourceType
      resourceID
      customerID
      accountID
      correlationID
      createdAt
      receivedAt
      lastDeliveryAt
      source
      bodySha256
      bodySize
      deliveryCount
      processingState
      attempts
      nextAttemptAt
      lastError
      processingDurationMs
      processedAt
      payload
      rawBody
      journeys {
        id
        definitionKey
        correlationKey
        status
        currentStepName
        progress
        definition {
          name
        }
      }
      topicInfo {
        name
        resource
        family
        description
        terminal
        outcome
        known
      }
    }
    deliveries(
      first: 100
      where: { or: [{ hasEventWith: [{ eventID: $eventID }] }, { dwollaEventID: $eventID }] }
      orderBy: { field: RECEIVED_AT, direction: DESC }
    ) {
      totalCount
      edges {
        node {
          id
          receivedAt
          remoteAddr
          outcome
          statusCode
          latencyMs
          bodySize
          topicHeader
          userAgent
          requestID
          reason
        }
      }
    }
  }
`);

export const pageSize = 100;

/** No filter at all is sent as null: the server refuses empty predicates in places. */
export function orNull(where: WebhookEventWhereInput): WebhookEventWhereInput | null {
  return Object.keys(where).length > 0 ? where : null;
}

export interface EventLog {
  /** Rows loaded so far, newest first. */
  rows: EventListItemFragment[];
  /** Events matching the filters on the server. */
  totalCount: number | null;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | null;
  /** Loads the next page; does nothing while a page is loading or at the end. */
  loadMore: () => void;
  /** Reloads from the first page (a preset range moves with the clock). */
  reload: () => void;
  /** When the current results were asked for. */
  asOf: Date | null;
  /** The server filter behind the current results (for replays and exports). */
  where: WebhookEventWhereInput | null;
}

interface LogState {
  key: string;
  generation: number;
  rows: EventListItemFragment[];
  totalCount: number | null;
  endCursor: string | null;
  hasMore: boolean;
  loading: boolean;
  error: ApiError | null;
  where: WebhookEventWhereInput | null;
  asOf: Date | null;
}

type LogAction =
  | { type: "start"; key: string; generation: number; where: WebhookEventWhereInput; asOf: Date; reset: boolean }
  | {
      type: "page";
      key: string;
      generation: number;
      rows: EventListItemFragment[];
      totalCount: number;
      endCursor: string | null;
      hasMore: boolean;
    }
  | { type: "error"; key: string; generation: number; error: ApiError }
  | { type: "reload" };

const initialLog: LogState = {
  key: "",
  generation: 0,
  rows: [],
  totalCount: null,
  endCursor: null,
  hasMore: false,
  loading: true,
  error: null,
  where: null,
  asOf: null,
};

function logReducer(state: LogState, action: LogAction): LogState {
  switch (action.type) {
    case "reload":
      return { ...state, generation: state.generation + 1 };
    case "start":
      if (action.reset) {
        return {
          ...initialLog,
          key: action.key,
          generation: action.generation,
          where: action.where,
          asOf: action.asOf,
        };
      }
      return { ...state, loading: true, error: null };
    case "page":
      if (action.key !== state.key || action.generation !== state.generation) return state;
      return {
        ...state,
        rows: state.rows.concat(action.rows),
        totalCount: action.totalCount,
        endCursor: action.endCursor,
        hasMore: action.hasMore,
        loading: false,
        error: null,
      };
    case "error":
      if (action.key !== state.key || action.generation !== state.generation) return state;
      return { ...state, loading: false, error: action.error };
  }
}

/**
 * The events log: pages of 100 fetched with the server's cursors, newest
 * first, appended as the reader scrolls. Changing the filters starts over.
 */
export function useEventLog(filters: EventFilters, range: TimeRange): EventLog {
  const client = useClient();
  const [state, dispatch] = useReducer(logReducer, initialLog);
  const key = JSON.stringify([filters, range]);

  const fetchPage = useCallback(
    (key: string, generation: number, where: WebhookEventWhereInput, after: string | null) => {
      void client
        .query(EventsPageQuery, { where: orNull(where), first: pageSize, after }, { requestPolicy: "network-only" })
        .toPromise()
        .then((result) => {
          if (result.error) {
            dispatch({ type: "error", key, generation, error: apiErrorFromCombined(result.error) });
            return;
          }
          const conn = result.data?.events;
          dispatch({
            type: "page",
            key,
            generation,
            rows: (conn?.edges ?? []).flatMap((e) => (e?.node ? [e.node] : [])),
            totalCount: conn?.totalCount ?? 0,
            endCursor: conn?.pageInfo.endCursor ?? null,
            hasMore: conn?.pageInfo.hasNextPage ?? false,
          });
        });
    },
    [client],
  );

  const generation = state.generation;
  useEffect(() => {
    const [f, r] = JSON.parse(key) as [EventFilters, TimeRange];
    const range: TimeRange = r.kind === "custom" ? { kind: "custom", from: r.from ? new Date(r.from) : null, to: r.to ? new Date(r.to) : null } : r;
    const asOf = new Date();
    const where = eventWhere(f, resolveTimeRange(range, asOf));
    dispatch({ type: "start", key, generation, where, asOf, reset: true });
    fetchPage(key, generation, where, null);
  }, [key, generation, fetchPage]);

  const { loading, hasMore, where, endCursor } = state;
  const stateKey = state.key;
  const loadMore = useCallback(() => {
    if (loading || !hasMore || !where) return;
    dispatch({ type: "start", key: stateKey, generation, where, asOf: new Date(), reset: false });
    fetchPage(stateKey, generation, where, endCursor);
  }, [loading, hasMore, where, endCursor, stateKey, generation, fetchPage]);

  const reload = useCallback(() => dispatch({ type: "reload" }), []);

  const current = state.key === key;
  return {
    rows: current ? state.rows : [],
    totalCount: current ? state.totalCount : null,
    hasMore: current && state.hasMore,
    loading: !current || state.loading,
    error: current ? state.error : null,
    loadMore,
    reload,
    asOf: current ? state.asOf : null,
    where: current ? state.where : null,
  };
}

export function useEventDetail(eventID: string | null) {
  const [result, reexecute] = useQuery({
    query: EventDetailQuery,
    variables: { eventID: eventID ?? "" },
    pause: !eventID,
    requestPolicy: "cache-and-network",
  });
  return {
    event: result.data?.event ?? null,
    deliveries: (result.data?.deliveries.edges ?? []).flatMap((e) => (e?.node ? [e.node] : [])),
    deliveryCount: result.data?.deliveries.totalCount ?? 0,
    fetching: result.fetching,
    found: result.data ? result.data.event !== null : null,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    retry: () => reexecute({ requestPolicy: "network-only" }),
  };
}

/** Number of bars in the event timeline. */
export const timelineBuckets = 24;

// One count per bucket, asked in a single request. The server counts each
// range with the same filters as the log, so the chart is exact; it will
// move to the analytics API's rollups once that exists.
export const EventTimelineQuery = graphql(`
  query EventTimeline(
    $w0: WebhookEventWhereInput!
    $w1: WebhookEventWhereInput!
    $w2: WebhookEventWhereInput!
    $w3: WebhookEventWhereInput!
    $w4: WebhookEventWhereInput!
    $w5: WebhookEventWhereInput!
    $w6: WebhookEventWhereInput!
    $w7: WebhookEventWhereInput!
    $w8: WebhookEventWhereInput!
    $w9: WebhookEventWhereInput!
    $w10: WebhookEventWhereInput!
    $w11: WebhookEventWhereInput!
    $w12: WebhookEventWhereInput!
    $w13: WebhookEventWhereInput!
    $w14: WebhookEventWhereInput!
    $w15: WebhookEventWhereInput!
    $w16: WebhookEventWhereInput!
    $w17: WebhookEventWhereInput!
    $w18: WebhookEventWhereInput!
    $w19: WebhookEventWhereInput!
    $w20: WebhookEventWhereInput!
    $w21: WebhookEventWhereInput!
    $w22: WebhookEventWhereInput!
    $w23: WebhookEventWhereInput!
  ) {
    b0: events(where: $w0) { totalCount }
    b1: events(where: $w1) { totalCount }
    b2: events(where: $w2) { totalCount }
    b3: events(where: $w3) { totalCount }
    b4: events(where: $w4) { totalCount }
    b5: events(where: $w5) { totalCount }
    b6: events(where: $w6) { totalCount }
    b7: events(where: $w7) { totalCount }
    b8: events(where: $w8) { totalCount }
    b9: events(where: $w9) { totalCount }
    b10: events(where: $w10) { totalCount }
    b11: events(where: $w11) { totalCount }
    b12: events(where: $w12) { totalCount }
    b13: events(where: $w13) { totalCount }
    b14: events(where: $w14) { totalCount }
    b15: events(where: $w15) { totalCount }
    b16: events(where: $w16) { totalCount }
    b17: events(where: $w17) { totalCount }
    b18: events(where: $w18) { totalCount }
    b19: events(where: $w19) { totalCount }
    b20: events(where: $w20) { totalCount }
    b21: events(where: $w21) { totalCount }
    b22: events(where: $w22) { totalCount }
    b23: events(where: $w23) { totalCount }
  }
`);

export const OldestEventQuery = graphql(`
  query OldestEvent($where: WebhookEventWhereInput) {
    events(where: $where, first: 1, orderBy: [{ field: RECEIVED_AT, direction: ASC }]) {
      edges {
        node {
          id
          receivedAt
        }
      }
    }
  }
`);

export interface TimelineBucket {
  from: Date;
  to: Date;
  count: number;
}

/** Builds the timeline's variables: the log's filter (without its time bounds) narrowed to each bucket. */
export function timelineVariables(
  base: WebhookEventWhereInput,
  buckets: { from: Date; to: Date }[],
): Record<string, WebhookEventWhereInput> {
  const vars: Record<string, WebhookEventWhereInput> = {};
  buckets.forEach((b, i) => {
    // Merged rather than and-ed: the server refuses an empty predicate inside `and`.
    vars[`w${i}`] = { ...base, receivedAtGTE: b.from.toISOString(), receivedAtLT: b.to.toISOString() };
  });
  return vars;
}

/** Reads the counts of an EventTimeline answer in bucket order. */
export function timelineCounts(data: Record<string, { totalCount: number } | undefined>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(data[`b${i}`]?.totalCount ?? 0);
  return out;
}

export interface Timeline {
  buckets: TimelineBucket[];
  loading: boolean;
  error: ApiError | null;
}

/**
 * The event timeline for the log's filters: the range (an open start begins
 * at the oldest matching event) cut into 24 buckets, each counted by the
 * server.
 */
export function useEventTimeline(filters: EventFilters, range: TimeRange, asOf: Date | null): Timeline {
  const client = useClient();
  const [state, setState] = useReducer(
    (_: Timeline & { key: string }, next: Timeline & { key: string }) => next,
    { key: "", buckets: [], loading: true, error: null },
  );
  const key = JSON.stringify([filters, range, asOf?.toISOString() ?? null]);

  useEffect(() => {
    if (!asOf) return;
    let cancelled = false;
    const fail = (error: ApiError) => {
      if (!cancelled) setState({ key, buckets: [], loading: false, error });
    };
    const bounds = resolveTimeRange(range, asOf);
    const base = eventWhere(filters, { from: null, to: null });
    const to = bounds.to ?? asOf;
    const run = async () => {
      let from = bounds.from;
      if (!from) {
        const oldest = await client
          .query(OldestEventQuery, { where: orNull(eventWhere(filters, bounds)) }, { requestPolicy: "network-only" })
          .toPromise();
        if (oldest.error) return fail(apiErrorFromCombined(oldest.error));
        const first = oldest.data?.events.edges?.[0]?.node?.receivedAt;
        if (!first) {
          if (!cancelled) setState({ key, buckets: [], loading: false, error: null });
          return;
        }
        from = new Date(first);
      }
      // A range shorter than the number of buckets still gets whole seconds.
      const end = to.getTime() - from.getTime() < timelineBuckets * 1000 ? new Date(from.getTime() + timelineBuckets * 1000) : to;
      const ranges = splitRange(from, end, timelineBuckets);
      const result = await client
        .query(EventTimelineQuery, timelineVariables(base, ranges) as EventTimelineQueryVariables, {
          requestPolicy: "network-only",
        })
        .toPromise();
      if (result.error) return fail(apiErrorFromCombined(result.error));
      const counts = timelineCounts(result.data ?? {}, timelineBuckets);
      if (!cancelled) {
        setState({ key, buckets: ranges.map((r, i) => ({ ...r, count: counts[i] ?? 0 })), loading: false, error: null });
      }
    };
    void run();
    return () => {
      cancelled = true;
    };
    // key captures filters, range and asOf.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key]);

  if (state.key !== key) return { buckets: [], loading: true, error: null };
  return state;
}
