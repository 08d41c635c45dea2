// Events: the log (cursor pages), one event with its deliveries, and the
// timeline: from the rollups (eventStats) when they keep what the filters
// ask, otherwise counted exactly from the events table.
import { useCallback, useEffect, useMemo, useReducer } from "react";
import { useClient, useQuery } from "urql";
import { graphql } from "../gql";
import type { EventListItemFragment, EventTimelineQueryVariables, WebhookEventWhereInput } from "../gql/graphql";
import { eventWhere, rollupFilter, type EventFilters } from "../lib/eventFilters";
import { granularityMs, splitRange } from "../lib/timeRange";
import { EventStatsQuery } from "./analytics";
import { apiErrorFromCombined, type ApiError } from "./errors";
import { useCursorPages, type Pages } from "./paging";

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

/**
 * The events log: pages of 100 fetched with the server's cursors, newest
 * first, appended as the reader scrolls. A new filter starts over.
 */
export function useEventLog(where: WebhookEventWhereInput): Pages<EventListItemFragment> {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as WebhookEventWhereInput;
      const res = await client.query(EventsPageQuery, { where: orNull(w), first: pageSize, after }, { requestPolicy: "network-only" }).toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.events;
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

/** Number of bars in the exact timeline (filters the rollups do not keep). */
export const timelineBuckets = 24;

// One count per bucket, asked in a single request, for filters the rollups
// do not keep (ids, processing state, search): each range is counted with
// the same filters as the log, so the chart is exact.
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

/** One topic's share of the timeline (rollup timelines only). */
export interface TimelineTopic {
  topic: string;
  total: number;
  counts: number[];
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

/** Turns an eventStats answer into buckets (one per point) and the topics' counts, largest first. */
export function statsTimeline(
  stats: { granularity: string; to: string; series: { time: string; events: number }[]; topics: { topic: string; events: { value: number }; series?: number[] | null }[] },
): { buckets: TimelineBucket[]; topics: TimelineTopic[] } {
  const step = granularityMs(stats.granularity);
  const end = new Date(stats.to).getTime();
  const buckets = stats.series.map((p) => {
    const from = new Date(p.time);
    return { from, to: new Date(Math.min(from.getTime() + step, end)), count: p.events };
  });
  const topics = stats.topics
    .map((t) => ({ topic: t.topic, total: t.events.value, counts: t.series ?? [] }))
    .filter((t) => t.total > 0)
    .sort((a, b) => b.total - a.total || a.topic.localeCompare(b.topic));
  return { buckets, topics };
}

export interface Timeline {
  buckets: TimelineBucket[];
  /** Per-topic counts aligned with buckets; empty for exact timelines. */
  topics: TimelineTopic[];
  /** rollups: from eventStats; exact: counted from the events table. */
  source: "rollups" | "exact";
  loading: boolean;
  error: ApiError | null;
}

type TimelineState = Omit<Timeline, "loading"> & { key: string; loading: boolean };

/**
 * The event timeline for the log's filters. When the rollups keep what the
 * filters ask (topic, topic prefix, time) it is one eventStats query at the
 * server's automatic granularity; otherwise the range is cut into 24
 * buckets, each counted exactly. An open start begins at the oldest
 * matching event.
 */
export function useEventTimeline(filters: EventFilters, bounds: { from: Date | null; to: Date | null; asOf: Date }): Timeline {
  const client = useClient();
  const [state, setState] = useReducer((_: TimelineState, next: TimelineState) => next, {
    key: "",
    buckets: [],
    topics: [],
    source: "rollups",
    loading: true,
    error: null,
  });
  const key = JSON.stringify([filters, bounds.from, bounds.to, bounds.asOf]);

  useEffect(() => {
    const [f, fromISO, toISO, asOfISO] = JSON.parse(key) as [EventFilters, string | null, string | null, string];
    const asOf = new Date(asOfISO);
    const bounds = { from: fromISO ? new Date(fromISO) : null, to: toISO ? new Date(toISO) : null };
    const rollups = rollupFilter(f);
    const source = rollups ? "rollups" : "exact";
    let cancelled = false;
    const done = (s: Omit<TimelineState, "key" | "loading" | "source">) => {
      if (!cancelled) setState({ key, source, loading: false, ...s });
    };
    const fail = (error: ApiError) => done({ buckets: [], topics: [], error });
    const to = bounds.to ?? asOf;
    const run = async () => {
      let from = bounds.from;
      if (!from) {
        const oldest = await client
          .query(OldestEventQuery, { where: orNull(eventWhere(f, bounds)) }, { requestPolicy: "network-only" })
          .toPromise();
        if (oldest.error) return fail(apiErrorFromCombined(oldest.error));
        const first = oldest.data?.events.edges?.[0]?.node?.receivedAt;
        if (!first) return done({ buckets: [], topics: [], error: null });
        from = new Date(first);
      }
      if (rollups) {
        // The rollups count whole minutes: a range shorter than one still gets one.
        const end = to.getTime() - from.getTime() < 60_000 ? new Date(from.getTime() + 60_000) : to;
        const res = await client
          .query(EventStatsQuery, { filter: { ...rollups, from: from.toISOString(), to: end.toISOString() } }, { requestPolicy: "network-only" })
          .toPromise();
        if (res.error) return fail(apiErrorFromCombined(res.error));
        if (!res.data) return done({ buckets: [], topics: [], error: null });
        return done({ ...statsTimeline(res.data.eventStats), error: null });
      }
      // A range shorter than the number of buckets still gets whole seconds.
      const end = to.getTime() - from.getTime() < timelineBuckets * 1000 ? new Date(from.getTime() + timelineBuckets * 1000) : to;
      const ranges = splitRange(from, end, timelineBuckets);
      const base = eventWhere(f, { from: null, to: null });
      const result = await client
        .query(EventTimelineQuery, timelineVariables(base, ranges) as EventTimelineQueryVariables, { requestPolicy: "network-only" })
        .toPromise();
      if (result.error) return fail(apiErrorFromCombined(result.error));
      const counts = timelineCounts(result.data ?? {}, timelineBuckets);
      done({ buckets: ranges.map((r, i) => ({ ...r, count: counts[i] ?? 0 })), topics: [], error: null });
    };
    void run();
    return () => {
      cancelled = true;
    };
  }, [client, key]);

  if (state.key !== key) return { buckets: [], topics: [], source: rollupFilter(filters) ? "rollups" : "exact", loading: true, error: null };
  return state;
}

/** The longest window the server answers (three years), less a minute of rounding. */
export const maxWindowMs = 3 * 365 * 86_400_000 - 60_000;

/**
 * The overview's window for the page's range: an open end is the moment
 * the range was pinned; an open start ("all time") begins at the oldest
 * stored event, or the last 24 hours when there is none.
 */
export function useAnalyticsWindow(bounds: { from: Date | null; to: Date | null; asOf: Date }) {
  const [oldest] = useQuery({
    query: OldestEventQuery,
    variables: { where: null },
    pause: bounds.from !== null,
    requestPolicy: "network-only",
  });
  const first = oldest.data?.events.edges?.[0]?.node?.receivedAt ?? null;
  const waiting = bounds.from === null && !oldest.data && !oldest.error;
  const fromMs = bounds.from?.getTime() ?? null;
  const toMs = (bounds.to ?? bounds.asOf).getTime();
  const window = useMemo(() => {
    if (waiting) return null;
    let from = fromMs ?? (first ? new Date(first).getTime() : toMs - 86_400_000);
    from = Math.max(from, toMs - maxWindowMs);
    return { from: new Date(Math.min(from, toMs - 60_000)), to: new Date(toMs) };
  }, [waiting, fromMs, first, toMs]);
  return { window, error: oldest.error ? apiErrorFromCombined(oldest.error) : null };
}
