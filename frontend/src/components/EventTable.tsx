// The events list: one row per event, virtualised so that tens of thousands
// of loaded rows scroll smoothly; the next page loads as the end nears.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { Link, useSearchParams } from "react-router";
import { graphql } from "../gql";
import type { EventListItemFragment } from "../gql/graphql";
import { formatTime } from "../lib/format";
import { withParam } from "../lib/url";

export const EventListItem = graphql(`
  fragment EventListItem on WebhookEvent {
    id
    eventID
    topic
    topicKnown
    topicMismatch
    resourceType
    resourceID
    customerID
    correlationID
    createdAt
    receivedAt
    processingState
    deliveryCount
    source
  }
`);

const rowHeight = 44;

/** The URL that opens an event's drawer, keeping the current filters. */
export function useEventHref(): (eventID: string) => string {
  const [params] = useSearchParams();
  return (eventID) => withParam(params, "event", eventID);
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}

function short(id: string | null | undefined): string {
  if (!id) return "—";
  return id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

function Cells({ event, href }: { event: EventListItemFragment; href: string }) {
  return (
    <>
      <span role="cell" className="col-time">
        <time dateTime={event.receivedAt}>{formatTime(event.receivedAt)}</time>
      </span>
      <span role="cell" className="col-topic">
        <Link to={href} className="event-link" title={`Open event ${event.eventID}`}>
          {event.topic}
        </Link>
        {!event.topicKnown && <span className="badge warn" title="Not in hooklens' topic catalogue">unknown</span>}
        {event.topicMismatch && <span className="badge warn" title="The X-Dwolla-Topic header differs from the body">mismatch</span>}
      </span>
      <span role="cell" className="col-id" title={event.resourceID ?? undefined}>
        {event.resourceType ? <span className="muted">{event.resourceType} </span> : null}
        <code>{short(event.resourceID)}</code>
      </span>
      <span role="cell" className="col-id" title={event.customerID ?? undefined}>
        <code>{short(event.customerID)}</code>
      </span>
      <span role="cell" className="col-state">
        <StateBadge state={event.processingState} />
      </span>
      <span role="cell" className="col-num">
        {event.deliveryCount}
      </span>
    </>
  );
}

function HeaderRow() {
  return (
    <div role="row" className="event-row event-head">
      <span role="columnheader" className="col-time">
        Received
      </span>
      <span role="columnheader" className="col-topic">
        Topic
      </span>
      <span role="columnheader" className="col-id">
        Resource
      </span>
      <span role="columnheader" className="col-id">
        Customer
      </span>
      <span role="columnheader" className="col-state">
        State
      </span>
      <span role="columnheader" className="col-num">
        Deliveries
      </span>
    </div>
  );
}

/** The log's virtualised table. */
export function EventTable({
  events,
  totalCount,
  hasMore,
  loading,
  onLoadMore,
  onScrolledAway,
}: {
  events: EventListItemFragment[];
  totalCount: number;
  hasMore: boolean;
  loading: boolean;
  onLoadMore: () => void;
  /** Told when the reader scrolls away from the top of the list, and back. */
  onScrolledAway?: (away: boolean) => void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const away = useRef(false);
  const href = useEventHref();
  // TanStack Virtual returns fresh functions each render; the compiler must not memoise around it.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: events.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1] : undefined;
  const lastIndex = last?.index ?? -1;

  useEffect(() => {
    if (hasMore && !loading && lastIndex >= events.length - 30) onLoadMore();
  }, [lastIndex, events.length, hasMore, loading, onLoadMore]);

  return (
    <div className="event-table" data-testid="event-table">
      <div role="table" aria-label="Events" aria-rowcount={totalCount + 1}>
        <div role="rowgroup">
          <HeaderRow />
        </div>
        <div
          ref={scrollRef}
          id="event-list"
          className="event-scroll"
          role="rowgroup"
          tabIndex={0}
          aria-label="Event rows, scroll to load more"
          onScroll={(e) => {
            const now = e.currentTarget.scrollTop > rowHeight / 2;
            if (now !== away.current) {
              away.current = now;
              onScrolledAway?.(now);
            }
          }}
        >
          <div role="presentation" style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const event = events[item.index];
              if (!event) return null;
              return (
                <div
                  key={event.id}
                  role="row"
                  aria-rowindex={item.index + 2}
                  className="event-row"
                  data-testid="event-row"
                  style={{ position: "absolute", top: 0, left: 0, right: 0, height: rowHeight, transform: `translateY(${item.start}px)` }}
                >
                  <Cells event={event} href={href(event.eventID)} />
                </div>
              );
            })}
          </div>
        </div>
      </div>
      <div className="table-foot" aria-live="polite">
        {loading ? "Loading more…" : hasMore ? `${events.length} of ${totalCount} loaded — scroll for more` : `All ${events.length} shown`}
      </div>
    </div>
  );
}

/** A plain table for short lists (the monitor's bounded buffer). */
export function EventRows({ events, label }: { events: EventListItemFragment[]; label: string }) {
  return (
    <div className="event-table plain" role="table" aria-label={label}>
      <div role="rowgroup">
        <HeaderRow />
      </div>
      <div role="rowgroup">
        {events.map((event) => (
          <div key={event.id} role="row" className="event-row" data-testid="live-row">
            <Cells event={event} href={`/events?event=${encodeURIComponent(event.eventID)}`} />
          </div>
        ))}
      </div>
    </div>
  );
}
