// The events log's filters, read from and written to the URL, and turned
// into the server's WebhookEventWhereInput.
import type { WebhookEventProcessingState, WebhookEventWhereInput } from "../gql/graphql";

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
