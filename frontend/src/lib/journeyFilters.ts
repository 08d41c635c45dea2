// The journeys page's filters, in the URL.
import type { JourneyInstanceStatus, JourneyInstanceWhereInput } from "../gql/graphql";

const statuses: readonly string[] = ["active", "stuck", "completed", "failed", "abandoned"];

export interface JourneyFilters {
  /** A definition key, or "" for every definition. */
  definition: string;
  status: JourneyInstanceStatus | "";
  /** Matched against the correlation key, customer and resource ids. */
  q: string;
}

export function parseJourneyFilters(params: URLSearchParams): JourneyFilters {
  const status = params.get("status") ?? "";
  return {
    definition: (params.get("definition") ?? "").trim(),
    status: statuses.includes(status) ? (status as JourneyInstanceStatus) : "",
    q: (params.get("q") ?? "").trim(),
  };
}

export function writeJourneyFilters(params: URLSearchParams, f: JourneyFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [k, v] of [
    ["definition", f.definition],
    ["status", f.status],
    ["q", f.q.trim()],
  ] as const) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  return next;
}

/** Journeys started within the time range that match the filters. */
export function journeyWhere(f: JourneyFilters, bounds: { from: Date | null; to: Date | null }): JourneyInstanceWhereInput {
  const where: JourneyInstanceWhereInput = {};
  if (f.definition) where.definitionKey = f.definition;
  if (f.status) where.status = f.status;
  if (bounds.from) where.startedAtGTE = bounds.from.toISOString();
  if (bounds.to) where.startedAtLT = bounds.to.toISOString();
  if (f.q) {
    const q = f.q.toLowerCase();
    where.or = [{ correlationKeyContainsFold: q }, { customerIDContainsFold: q }, { resourceIDContainsFold: q }];
  }
  return where;
}
