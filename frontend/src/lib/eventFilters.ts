// The events log's filters, read from and written to the URL, and turned
// into the server's WebhookEventWhereInput.
import type { EventStatsFilter, WebhookEventProcessingState, WebhookEventWhereInput } from "../gql/graphql";

export const processingStates: readonly WebhookEventProcessingState[] = ["queued", "processing", "processed", "failed"];

/** Every filter the events log offers; empty strings mean "any". */
export interface EventFilters {
  /** Exact topic. */
  topic: string;
  /** Topic prefix, e.g. "customer_transfer_" for a family. */
  topicPrefix: string;
  resourceID: string;
  customerID: string;
  correlationID: string;
  state: WebhookEventProcessingState | "";
  /** Free text matched against the event, resource, customer and correlation ids and the topic. */
  q: string;
}

export const emptyEventFilters: EventFilters = {
  topic: "",
  topicPrefix: "",
  resourceID: "",
  customerID: "",
  correlationID: "",
  state: "",
  q: "",
};

/** URL parameter names, kept short and readable. */
const paramNames: Record<keyof EventFilters, string> = {
  topic: "topic",
  topicPrefix: "prefix",
  resourceID: "resource",
  customerID: "customer",
  correlationID: "correlation",
  state: "state",
  q: "q",
};

function isState(v: string): v is WebhookEventProcessingState {
  return (processingStates as readonly string[]).includes(v);
}

export function parseEventFilters(params: URLSearchParams): EventFilters {
  const get = (k: keyof EventFilters) => (params.get(paramNames[k]) ?? "").trim();
  const state = get("state");
  return {
    topic: get("topic"),
    topicPrefix: get("topicPrefix"),
    resourceID: get("resourceID"),
    customerID: get("customerID"),
    correlationID: get("correlationID"),
    state: isState(state) ? state : "",
    q: get("q"),
  };
}

/** Writes filters into a copy of params; empty filters are removed. */
export function writeEventFilters(params: URLSearchParams, filters: EventFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of Object.keys(paramNames) as (keyof EventFilters)[]) {
    const value = filters[key].trim();
    if (value) next.set(paramNames[key], value);
    else next.delete(paramNames[key]);
  }
  return next;
}

export function hasEventFilters(filters: EventFilters): boolean {
  return (Object.keys(paramNames) as (keyof EventFilters)[]).some((k) => filters[k].trim() !== "");
}

/**
 * Builds the server filter. Ids are matched exactly (resource ids are stored
 * lower-cased, so the input is lower-cased too); the search box matches
 * substrings, case-insensitively.
 */
export function eventWhere(filters: EventFilters, bounds: { from: Date | null; to: Date | null }): WebhookEventWhereInput {
  const where: WebhookEventWhereInput = {};
  if (filters.topic) where.topic = filters.topic;
  if (filters.topicPrefix) where.topicHasPrefix = filters.topicPrefix;
  if (filters.resourceID) where.resourceID = filters.resourceID.toLowerCase();
  if (filters.customerID) where.customerID = filters.customerID.toLowerCase();
  if (filters.correlationID) where.correlationID = filters.correlationID;
  if (filters.state) where.processingState = filters.state;
  if (bounds.from) where.receivedAtGTE = bounds.from.toISOString();
  if (bounds.to) where.receivedAtLT = bounds.to.toISOString();
  if (filters.q) {
    const q = filters.q;
    where.or = [
      { eventIDContainsFold: q },
      { topicContainsFold: q },
      { resourceIDContainsFold: q },
      { customerIDContainsFold: q },
      { correlationIDContainsFold: q },
    ];
  }
  return where;
}

/** The fields of an event the filters look at. */
export interface FilterableEvent {
  eventID: string;
  topic: string;
  resourceID?: string | null;
  customerID?: string | null;
  correlationID?: string | null;
  processingState: string;
  receivedAt: string;
}

/**
 * Whether an event pushed by the server (eventReceived) belongs in the list
 * of these filters and range: the same predicate as eventWhere, in the
 * browser, so live arrivals join only the lists they match.
 */
export function matchesEventFilters(filters: EventFilters, bounds: { from: Date | null; to: Date | null }, e: FilterableEvent): boolean {
  const lower = (v: string | null | undefined) => (v ?? "").toLowerCase();
  if (filters.topic && e.topic !== filters.topic) return false;
  if (filters.topicPrefix && !e.topic.startsWith(filters.topicPrefix)) return false;
  if (filters.resourceID && lower(e.resourceID) !== filters.resourceID.toLowerCase()) return false;
  if (filters.customerID && lower(e.customerID) !== filters.customerID.toLowerCase()) return false;
  if (filters.correlationID && e.correlationID !== filters.correlationID) return false;
  if (filters.state && e.processingState !== filters.state) return false;
  const t = new Date(e.receivedAt).getTime();
  if (bounds.from && t < bounds.from.getTime()) return false;
  if (bounds.to && t >= bounds.to.getTime()) return false;
  if (filters.q) {
    const q = filters.q.toLowerCase();
    if (![e.eventID, e.topic, e.resourceID, e.customerID, e.correlationID].some((v) => lower(v).includes(q))) return false;
  }
  return true;
}

/** Labels of the filters, for sentences. */
export const eventFilterLabels: Record<keyof EventFilters, string> = {
  topic: "topic",
  topicPrefix: "topic prefix",
  resourceID: "resource id",
  customerID: "customer id",
  correlationID: "correlation id",
  state: "processing state",
  q: "search",
};

/** The filters the per-minute rollups cannot answer (they are kept per topic only). */
export function filtersBeyondRollups(filters: EventFilters): (keyof EventFilters)[] {
  const beyond: (keyof EventFilters)[] = ["resourceID", "customerID", "correlationID", "state", "q"];
  return beyond.filter((k) => filters[k].trim() !== "");
}

/**
 * The eventStats filter for the log's filters, without the time range; null
 * when a filter is one the rollups do not keep.
 */
export function rollupFilter(filters: EventFilters): Pick<EventStatsFilter, "topics" | "topicPrefix"> | null {
  if (filtersBeyondRollups(filters).length > 0) return null;
  const out: Pick<EventStatsFilter, "topics" | "topicPrefix"> = {};
  if (filters.topic) out.topics = [filters.topic];
  if (filters.topicPrefix) out.topicPrefix = filters.topicPrefix;
  return out;
}

export const exportFormats = ["csv", "json", "ndjson"] as const;
export type ExportFormat = (typeof exportFormats)[number];

/**
 * Why the export cannot reproduce the log's filters, or null when it can.
 * The free-text search matches substrings of five fields; the export
 * matches ids exactly and has no search.
 */
export function exportBlockedReason(filters: EventFilters): string | null {
  if (filters.q.trim()) return "The export cannot apply the free-text search. Clear the search (or use the exact topic and id filters) to export.";
  return null;
}

/**
 * GET /api/analytics/export's address for the log's filters: receipt time
 * from/to and every filter, under the names the endpoint takes (it refuses
 * unknown ones). Ids are lower-cased like the log does.
 */
export function exportURL(filters: EventFilters, bounds: { from: Date | null; to: Date | null }, format: ExportFormat): string {
  const p = new URLSearchParams({ type: "events", format });
  if (bounds.from) p.set("from", bounds.from.toISOString());
  if (bounds.to) p.set("to", bounds.to.toISOString());
  if (filters.topic) p.set("topic", filters.topic);
  if (filters.topicPrefix) p.set("topicPrefix", filters.topicPrefix);
  if (filters.resourceID) p.set("resourceID", filters.resourceID.toLowerCase());
  if (filters.customerID) p.set("customerID", filters.customerID.toLowerCase());
  if (filters.correlationID) p.set("correlationID", filters.correlationID);
  if (filters.state) p.set("state", filters.state);
  return `/api/analytics/export?${p.toString()}`;
}
