// Live updates for the pages that list or count events (overview, events,
// deliveries): new events pushed by the server (eventReceived) reach the
// page in small batches while it is live, and wait, counted, while it is
// paused. Nothing is polled.
import { useCallback, useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import type { EventListItemFragment } from "../gql/graphql";
import type { ApiError } from "./errors";
import { useEventStream } from "./live";

/** Events held while paused; beyond this the page reloads instead of listing them. */
export const maxHeld = 500;

/** Live by default; `?live=off` in the URL pauses, so a paused view can be shared. */
export function useLiveMode(): [boolean, (live: boolean) => void] {
  const [params, setParams] = useSearchParams();
  const live = params.get("live") !== "off";
  const set = useCallback(
    (next: boolean) =>
      setParams(
        (p) => {
          const out = new URLSearchParams(p);
          if (next) out.delete("live");
          else out.set("live", "off");
          return out;
        },
        { replace: true },
      ),
    [setParams],
  );
  return [live, set];
}

export interface LiveArrivals {
  /** Matching events that arrived while held (paused, or the reader is scrolled down). */
  held: number;
  /** More arrived than could be kept: the page should reload rather than list them. */
  overflowed: boolean;
  /** Hands the held events to deliver (newest first) and starts counting again. */
  release: () => void;
  /** Forgets the held events (the page reloaded, which includes them). */
  discard: () => void;
  error: ApiError | null;
}

/**
 * Calls deliver with the matching events that arrived (newest first), at
 * most once per batchMs, unless hold is true: then they are kept and
 * counted until release. Off (no subscription) when enabled is false, e.g.
 * for a range that ended in the past.
 */
export function useLiveArrivals(opts: {
  enabled: boolean;
  hold: boolean;
  batchMs: number;
  match: (e: EventListItemFragment) => boolean;
  deliver: (events: EventListItemFragment[], overflowed: boolean) => void;
  topics?: string[] | null;
}): LiveArrivals {
  const latest = useRef(opts);
  useEffect(() => {
    latest.current = opts;
  });
  const batch = useRef<EventListItemFragment[]>([]);
  const timer = useRef<number | null>(null);
  const heldRef = useRef<{ events: EventListItemFragment[]; overflowed: boolean }>({ events: [], overflowed: false });
  const [held, setHeld] = useState({ count: 0, overflowed: false });

  const flush = useCallback(() => {
    timer.current = null;
    const events = batch.current;
    batch.current = [];
    if (events.length > 0) latest.current.deliver(events.reverse(), false);
  }, []);

  const onEvent = useCallback(
    (e: EventListItemFragment) => {
      if (!latest.current.match(e)) return;
      if (latest.current.hold) {
        const h = heldRef.current;
        h.events.push(e);
        if (h.events.length > maxHeld) {
          h.events = h.events.slice(-maxHeld);
          h.overflowed = true;
        }
        setHeld((c) => ({ count: c.count + 1, overflowed: h.overflowed }));
        return;
      }
      batch.current.push(e);
      timer.current ??= window.setTimeout(flush, latest.current.batchMs);
    },
    [flush],
  );

  useEffect(
    () => () => {
      if (timer.current !== null) window.clearTimeout(timer.current);
    },
    [],
  );

  const release = useCallback(() => {
    const { events, overflowed } = heldRef.current;
    heldRef.current = { events: [], overflowed: false };
    setHeld({ count: 0, overflowed: false });
    if (events.length > 0 || overflowed) latest.current.deliver(events.reverse(), overflowed);
  }, []);

  const discard = useCallback(() => {
    heldRef.current = { events: [], overflowed: false };
    batch.current = [];
    setHeld({ count: 0, overflowed: false });
  }, []);

  const error = useEventStream("received", opts.topics ?? null, onEvent, opts.enabled);
  return { held: held.count, overflowed: held.overflowed, release, discard, error };
}
