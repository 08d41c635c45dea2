// Analytics from the rollups: the overview of a window against the previous
// one, and per-topic event statistics with their series. Also the REST
// export's address, built from the same filters.
import { useCallback } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import type { EventStatsFilter } from "../gql/graphql";
import { apiErrorFromCombined } from "./errors";

export const FigureFields = graphql(`
  fragment FigureFields on Figure {
    value
    previous
    delta
    change
  }
`);

export const MeasureFields = graphql(`
  fragment MeasureFields on Measure {
    value
    previous
    delta
  }
`);

export const LatencyFields = graphql(`
  fragment LatencyFields on Latency {
    count {
      ...FigureFields
    }
    avgMs {
      ...MeasureFields
    }
    p50Ms {
      ...MeasureFields
    }
    p95Ms {
      ...MeasureFields
    }
    p99Ms {
      ...MeasureFields
    }
  }
`);

export const SeriesPointFields = graphql(`
  fragment SeriesPointFields on SeriesPoint {
    time
    events
    deliveries
    duplicates
    rejected
    processed
    failedAttempts
    deadLettered
    avgProcMs
    p95ProcMs
  }
`);

export const OverviewPageQuery = graphql(`
  query OverviewPage($from: Time, $to: Time) {
    overview(from: $from, to: $to) {
      from
      to
      previousFrom
      granularity
      events {
        ...FigureFields
      }
      eventsFromSync {
        ...FigureFields
      }
      eventsPerMinute {
        ...FigureFields
      }
      deliveries {
        ...FigureFields
      }
      duplicateDeliveries {
        ...FigureFields
      }
      duplicateRate {
        ...MeasureFields
      }
      rejectedDeliveries {
        ...FigureFields
      }
      badSignatures {
        ...FigureFields
      }
      rejectionRate {
        ...MeasureFields
      }
      processed {
        ...FigureFields
      }
      waiting {
        ...FigureFields
      }
      deadLettered {
        ...FigureFields
      }
      failedAttempts {
        ...FigureFields
      }
      processingSuccessRate {
        ...MeasureFields
      }
      processingFailureRate {
        ...MeasureFields
      }
      processingLatency {
        ...LatencyFields
      }
      deliveryLag {
        ...LatencyFields
      }
      businessRates {
        family
        created {
          ...FigureFields
        }
        succeeded {
          ...FigureFields
        }
        failed {
          ...FigureFields
        }
        failureRate {
          ...MeasureFields
        }
        outcomeFailureRate {
          ...MeasureFields
        }
      }
      byTopic {
        topic
        family
        outcome
        known
        events {
          ...FigureFields
        }
        share
        deliveries
        duplicates
        deadLettered
        p95ProcMs
      }
      byResourceType {
        resourceType
        events {
          ...FigureFields
        }
        share
      }
      series {
        ...SeriesPointFields
      }
      journeys {
        active
        stuck
      }
      anomalies {
        open
        acknowledged
        critical
        warning
        info
      }
      queue {
        depth
        processing
        oldestQueuedAt
        oldestAgeSeconds
      }
    }
    health(history: 2) {
      score
      run {
        id
        finishedAt
      }
      history {
        at
        score
      }
    }
  }
`);

export const EventStatsQuery = graphql(`
  query EventStats($filter: EventStatsFilter) {
    eventStats(filter: $filter) {
      from
      to
      granularity
      events {
        ...FigureFields
      }
      topics {
        topic
        family
        outcome
        events {
          ...FigureFields
        }
        share
        series
      }
      series {
        time
        events
      }
    }
  }
`);

/** Only the series of the overview, for charts around an anomaly. */
export const OverviewSeriesQuery = graphql(`
  query OverviewSeries($from: Time!, $to: Time!, $granularity: String!) {
    overview(from: $from, to: $to, granularity: $granularity) {
      granularity
      series {
        ...SeriesPointFields
      }
    }
  }
`);

/** The overview of [from, to); `pause` holds the query until the bounds are known. */
export function useOverview(bounds: { from: Date; to: Date } | null) {
  const [result, reexecute] = useQuery({
    query: OverviewPageQuery,
    variables: { from: bounds?.from.toISOString() ?? null, to: bounds?.to.toISOString() ?? null },
    pause: !bounds,
    requestPolicy: "network-only",
  });
  const retry = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  const want = bounds ? bounds.from.toISOString() + bounds.to.toISOString() : "";
  const vars = result.operation?.variables;
  const stale = !vars || `${vars.from ?? ""}${vars.to ?? ""}` !== want;
  return {
    overview: stale ? null : (result.data?.overview ?? null),
    health: stale ? null : (result.data?.health ?? null),
    loading: stale || (!result.data && !result.error),
    error: !stale && result.error ? apiErrorFromCombined(result.error) : null,
    retry,
  };
}

/** Event statistics for a filter; null pauses the query. */
export function useEventStats(filter: EventStatsFilter | null) {
  const [result, reexecute] = useQuery({
    query: EventStatsQuery,
    variables: { filter },
    pause: !filter,
    requestPolicy: "network-only",
  });
  // urql keeps the previous answer while the next is on its way: never show it under new filters.
  const stale = JSON.stringify(result.operation?.variables.filter ?? null) !== JSON.stringify(filter);
  return {
    stats: stale ? null : (result.data?.eventStats ?? null),
    loading: stale || (!result.data && !result.error),
    error: !stale && result.error ? apiErrorFromCombined(result.error) : null,
    retry: () => reexecute({ requestPolicy: "network-only" }),
  };
}

/** A slice of the overview's series at a given granularity; null pauses. */
export function useOverviewSeries(vars: { from: string; to: string; granularity: string } | null) {
  const [result] = useQuery({
    query: OverviewSeriesQuery,
    variables: vars ?? { from: "", to: "", granularity: "" },
    pause: !vars,
    requestPolicy: "network-only",
  });
  return {
    series: result.data?.overview.series ?? null,
    loading: !result.data && !result.error,
    error: result.error ? apiErrorFromCombined(result.error) : null,
  };
}

