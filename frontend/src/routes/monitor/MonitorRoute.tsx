// The live event stream, pushed by the server over the websocket
// (eventReceived); nothing is polled. Newest first, bounded, pausable.
import { useCallback, useEffect, useReducer } from "react";
import { useOutletContext, useSearchParams } from "react-router";
import type { GraphQLClients } from "../../api/client";
import { useConnectionState, useEventStream } from "../../api/live";
import { useTopics } from "../../api/topics";
import { EventRows } from "../../components/EventTable";
import { EmptyState, ErrorState } from "../../components/States";
import { PipelinePanel } from "./PipelinePanel";
import type { EventListItemFragment } from "../../gql/graphql";
import { formatNumber } from "../../lib/format";
import { prependBounded, pruneArrivals, ratePerSecond } from "../../lib/liveBuffer";

/** Events kept on screen. */
export const bufferSize = 500;
/** Window of the events-per-second meter. */
export const rateWindowMs = 10_000;

export interface MonitorState {
  paused: boolean;
  shown: EventListItemFragment[];
  /** Arrived while paused, oldest first; shown on resume. */
  pending: EventListItemFragment[];
  arrivals: number[];
  /** Times events finished processing, for the events-per-second-out meter. */
  completions: number[];
  total: number;
  since: number;
  now: number;
}

export type MonitorAction =
  | { type: "event"; event: EventListItemFragment; at: number }
  | { type: "processed"; event: EventListItemFragment; at: number }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "clear"; at: number }
  | { type: "tick"; at: number };

export function monitorReducer(state: MonitorState, action: MonitorAction): MonitorState {
  switch (action.type) {
    case "event": {
      const arrivals = pruneArrivals(state.arrivals, action.at, rateWindowMs);
      arrivals.push(action.at);
      const base = { ...state, arrivals, total: state.total + 1, now: action.at };
      if (state.paused) return { ...base, pending: state.pending.concat(action.event).slice(-bufferSize) };
      return { ...base, shown: prependBounded(state.shown, [action.event], bufferSize) };
    }
    case "processed": {
      // Rows on screen show the new state; the event itself is not new.
      const update = (list: EventListItemFragment[]) =>
        list.some((e) => e.id === action.event.id) ? list.map((e) => (e.id === action.event.id ? action.event : e)) : list;
      const completions = pruneArrivals(state.completions, action.at, rateWindowMs);
      completions.push(action.at);
      return { ...state, completions, now: action.at, shown: update(state.shown), pending: update(state.pending) };
    }
    case "pause":
      return { ...state, paused: true };
    case "resume":
      return { ...state, paused: false, pending: [], shown: prependBounded(state.shown, state.pending, bufferSize) };
    case "clear":
      return { ...state, shown: [], pending: [], total: 0, arrivals: [], completions: [], since: action.at, now: action.at };
    case "tick":
      return {
        ...state,
        now: action.at,
        arrivals: pruneArrivals(state.arrivals, action.at, rateWindowMs),
        completions: pruneArrivals(state.completions, action.at, rateWindowMs),
      };
  }
}

export function initialMonitorState(at: number = Date.now()): MonitorState {
  return { paused: false, shown: [], pending: [], arrivals: [], completions: [], total: 0, since: at, now: at };
}

const connectionLabels = { idle: "Connecting…", connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…" } as const;

export function MonitorRoute() {
  const clients = useOutletContext<GraphQLClients>();
  const [params, setParams] = useSearchParams();
  const topic = params.get("topic") ?? "";
  const [state, dispatch] = useReducer(monitorReducer, undefined, initialMonitorState);
  const connection = useConnectionState(clients.connection);
  const topics = useTopics();

  const onEvent = useCallback((event: EventListItemFragment) => dispatch({ type: "event", event, at: Date.now() }), []);
  const onProcessed = useCallback((event: EventListItemFragment) => dispatch({ type: "processed", event, at: Date.now() }), []);
  const topicList = topic ? [topic] : null;
  const error = useEventStream("received", topicList, onEvent);
  const processedError = useEventStream("processed", topicList, onProcessed);

  useEffect(() => {
    const timer = window.setInterval(() => dispatch({ type: "tick", at: Date.now() }), 1000);
    return () => window.clearInterval(timer);
  }, []);

  const rate = ratePerSecond(state.arrivals, state.now, rateWindowMs, state.since);
  const rateOut = ratePerSecond(state.completions, state.now, rateWindowMs, state.since);

  return (
    <div className="monitor-page">
      <div className="toolbar" role="group" aria-label="Stream controls">
        <span className={`live-dot ${connection}`} role="status" data-testid="connection">
          {connectionLabels[connection]}
        </span>
        <div className="field inline">
          <label htmlFor="m-topic">Topic</label>
          <select
            id="m-topic"
            value={topic}
            onChange={(e) =>
              setParams((p) => {
                const next = new URLSearchParams(p);
                if (e.target.value) next.set("topic", e.target.value);
                else next.delete("topic");
                return next;
              })
            }
          >
            <option value="">All topics</option>
            {topic && !topics.topics.some((t) => t.name === topic) && <option value={topic}>{topic}</option>}
            {topics.topics.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          className="button"
          aria-pressed={state.paused}
          onClick={() => dispatch({ type: state.paused ? "resume" : "pause" })}
          data-testid="pause"
        >
          {state.paused ? `Resume${state.pending.length ? ` (${state.pending.length} new)` : ""}` : "Pause"}
        </button>
        <button type="button" className="button ghost" onClick={() => dispatch({ type: "clear", at: Date.now() })}>
          Clear
        </button>
        <dl className="stats" aria-live="off">
          <div>
            <dt>Events/s in</dt>
            <dd data-testid="rate">{rate.toFixed(rate < 10 ? 2 : 1)}</dd>
          </div>
          <div>
            <dt>Processed/s</dt>
            <dd data-testid="rate-out">{rateOut.toFixed(rateOut < 10 ? 2 : 1)}</dd>
          </div>
          <div>
            <dt>Received since open</dt>
            <dd data-testid="received">{formatNumber(state.total)}</dd>
          </div>
          <div>
            <dt>Shown</dt>
            <dd>
              {state.shown.length} / {bufferSize}
            </dd>
          </div>
        </dl>
      </div>
      <PipelinePanel />
      {error && <ErrorState error={error} title="The live stream failed" />}
      {processedError && <ErrorState error={processedError} title="The processed-events stream failed" />}
      {state.shown.length === 0 ? (
        <EmptyState title={state.paused ? "Paused." : "Waiting for events…"}>
          <p className="muted">
            New events appear here the moment hooklens stores them{topic ? ` (only ${topic})` : ""}. The newest {bufferSize} are kept.
          </p>
        </EmptyState>
      ) : (
        <EventRows events={state.shown} label="Live events, newest first" />
      )}
    </div>
  );
}
