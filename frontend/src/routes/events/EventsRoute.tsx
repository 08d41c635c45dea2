// The events log: filters and time range from the URL, the timeline, the
// virtualised list, and the drawer for ?event=<id>.
import { useCallback, useState } from "react";
import { useLiveArrivals, useLiveMode } from "../../api/liveArrivals";
import { useEventStream } from "../../api/live";
import { LiveControl } from "../../components/LiveControl";
import type { EventListItemFragment } from "../../gql/graphql";
import { useSearchParams } from "react-router";
import { useEventLog, useEventTimeline } from "../../api/events";
import { useTopics } from "../../api/topics";
import { EventTable } from "../../components/EventTable";
import { EventTabs } from "../../components/EventTabs";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { useResolvedTimeRange, useTimeRange } from "../../components/TimeRangePicker";
import {
  emptyEventFilters,
  eventWhere,
  hasEventFilters,
  matchesEventFilters,
  parseEventFilters,
  writeEventFilters,
  type EventFilters,
} from "../../lib/eventFilters";
import { formatNumber, formatTime } from "../../lib/format";
import { describeTimeRange } from "../../lib/timeRange";
import { EventDrawer } from "./EventDrawer";
import { EventFiltersForm } from "./EventFiltersForm";
import { EventTimeline } from "./EventTimeline";
import { ExportMenu } from "./ExportMenu";
import { ReplayMatching } from "./ReplayMatching";
import { useIsAdmin } from "../../api/sessionContext";

export function EventsRoute() {
  const [params, setParams] = useSearchParams();
  const [range, setRange] = useTimeRange();
  const filters = parseEventFilters(params);
  const openEvent = params.get("event");
  const [reload, setReload] = useState(0);
  const bounds = useResolvedTimeRange(range, reload);
  const where = eventWhere(filters, bounds);
  const log = useEventLog(where);
  const timeline = useEventTimeline(filters, bounds);
  // Live: new matching events join the top of the list as the server pushes them, unless the
  // reader paused or scrolled down (then they are counted, and shown on request).
  const [live, setLive] = useLiveMode();
  const [scrolledAway, setScrolledAway] = useState(false);
  const liveAvailable = bounds.to === null;
  const { prepend, patch } = log;
  const arrivals = useLiveArrivals({
    enabled: liveAvailable,
    hold: !live || scrolledAway,
    batchMs: 500,
    topics: filters.topic ? [filters.topic] : null,
    match: (e) => matchesEventFilters(filters, bounds, e),
    deliver: (events, overflowed) => {
      if (overflowed) refresh();
      else prepend(events, (e) => e.id);
    },
  });
  // Rows already shown follow the pipeline (queued → processed).
  const onProcessed = useCallback((e: EventListItemFragment) => patch((n) => (n.id === e.id ? e : n)), [patch]);
  useEventStream("processed", filters.topic ? [filters.topic] : null, onProcessed, liveAvailable);
  const refresh = () => {
    arrivals.discard();
    setReload((n) => n + 1);
    log.reload();
  };
  const topics = useTopics();
  const admin = useIsAdmin();

  const setFilters = useCallback(
    (next: EventFilters) => setParams((p) => {
      const out = writeEventFilters(p, next);
      out.delete("event");
      return out;
    }),
    [setParams],
  );
  const closeDrawer = useCallback(
    () =>
      setParams((p) => {
        const out = new URLSearchParams(p);
        out.delete("event");
        return out;
      }),
    [setParams],
  );

  const filtered = hasEventFilters(filters);
  return (
    <div className="events-page">
      <EventTabs />
      <EventFiltersForm
        key={params.toString()}
        filters={filters}
        topics={topics.topics}
        onChange={setFilters}
        onClear={() => setFilters(emptyEventFilters)}
      />
      {topics.error && <ErrorState error={topics.error} title="Could not load the topic list" onRetry={topics.retry} />}

      <div className="result-bar" aria-live="polite">
        <span data-testid="event-count">
          {log.totalCount === null ? "Counting…" : `${formatNumber(log.totalCount)} event${log.totalCount === 1 ? "" : "s"}`}
        </span>
        <span className="muted">
          {" "}
          · {describeTimeRange(range)}
          {range.kind === "preset" && range.key !== "all" && <> · as of {formatTime(bounds.asOf.toISOString())}</>}
        </span>
        <span className="result-actions">
          <LiveControl
            available={liveAvailable}
            live={live}
            onLiveChange={(next) => {
              setLive(next);
              if (next && !scrolledAway) arrivals.release();
            }}
            held={arrivals.held}
            onShow={arrivals.release}
            noun="event"
          />
          <ExportMenu filters={filters} bounds={bounds} />
          {admin && <ReplayMatching where={where} count={log.totalCount} onDone={refresh} />}
          <button type="button" className="button ghost" onClick={refresh}>
            Refresh
          </button>
        </span>
      </div>

      {timeline.error ? (
        <ErrorState error={timeline.error} title="Could not count events for the timeline" />
      ) : timeline.loading ? (
        <div className="timeline-placeholder">
          <Loading label="Counting events over time…" />
        </div>
      ) : timeline.buckets.length > 0 ? (
        <EventTimeline buckets={timeline.buckets} topics={timeline.topics} source={timeline.source} onZoom={(from, to) => setRange({ kind: "custom", from, to })} />
      ) : null}

      {log.error ? (
        <ErrorState error={log.error} title="Could not load events" onRetry={refresh} />
      ) : log.nodes.length === 0 && log.loading ? (
        <Loading label="Loading events…" />
      ) : log.nodes.length === 0 ? (
        <EmptyState title={filtered ? "No events match these filters." : `No events in ${describeTimeRange(range).toLowerCase()}.`}>
          <p className="muted">
            {filtered ? "Loosen a filter, or " : "Events appear here as Dwolla delivers them. "}
            {!(range.kind === "preset" && range.key === "all") && (
              <button type="button" className="button link" onClick={() => setRange({ kind: "preset", key: "all" })}>
                look at all time
              </button>
            )}
          </p>
        </EmptyState>
      ) : (
        <EventTable
          events={log.nodes}
          totalCount={log.totalCount ?? log.nodes.length}
          hasMore={log.hasMore}
          loading={log.loading}
          onLoadMore={log.loadMore}
          onScrolledAway={(away) => {
            setScrolledAway(away);
            if (!away && live) arrivals.release();
          }}
        />
      )}

      {openEvent && <EventDrawer key={openEvent} eventID={openEvent} onClose={closeDrawer} />}
    </div>
  );
}
