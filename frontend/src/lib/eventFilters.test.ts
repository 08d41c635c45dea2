import { describe, expect, it } from "vitest";
import {
  emptyEventFilters,
  eventWhere,
  exportBlockedReason,
  exportURL,
  filtersBeyondRollups,
  hasEventFilters,
  parseEventFilters,
  rollupFilter,
  writeEventFilters,
} from "./eventFilters";

describe("event filters", () => {
  it("round-trips through the URL with short names", () => {
    const f = { ...emptyEventFilters, topic: "customer_created", resourceID: "ABC", state: "failed" as const, q: "x y" };
    const params = writeEventFilters(new URLSearchParams("range=7d"), f);
    expect(params.get("topic")).toBe("customer_created");
    expect(params.get("resource")).toBe("ABC");
    expect(params.get("range")).toBe("7d");
    expect(parseEventFilters(params)).toEqual(f);
  });

  it("drops empty filters and ignores unknown states", () => {
    const params = writeEventFilters(new URLSearchParams("topic=a&customer=b"), { ...emptyEventFilters, topic: " " });
    expect(params.toString()).toBe("");
    expect(parseEventFilters(new URLSearchParams("state=exploded")).state).toBe("");
    expect(hasEventFilters(emptyEventFilters)).toBe(false);
    expect(hasEventFilters({ ...emptyEventFilters, q: "z" })).toBe(true);
  });

  it("builds the server's where input", () => {
    const where = eventWhere(
      { ...emptyEventFilters, topicPrefix: "customer_", resourceID: "AbC", customerID: "DeF", correlationID: "Cor", state: "queued" },
      { from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-01-02T00:00:00Z") },
    );
    expect(where).toEqual({
      topicHasPrefix: "customer_",
      resourceID: "abc",
      customerID: "def",
      correlationID: "Cor",
      processingState: "queued",
      receivedAtGTE: "2026-01-01T00:00:00.000Z",
      receivedAtLT: "2026-01-02T00:00:00.000Z",
    });
  });

  it("searches several fields case-insensitively", () => {
    const where = eventWhere({ ...emptyEventFilters, q: "513e" }, { from: null, to: null });
    expect(where.or).toHaveLength(5);
    expect(where.or).toContainEqual({ resourceIDContainsFold: "513e" });
    expect(eventWhere(emptyEventFilters, { from: null, to: null })).toEqual({});
  });
});

describe("rollups and exports", () => {
  it("ask eventStats only for filters the rollups keep", () => {
    expect(rollupFilter(emptyEventFilters)).toEqual({});
    expect(rollupFilter({ ...emptyEventFilters, topic: "customer_created", topicPrefix: "customer_" })).toEqual({ topics: ["customer_created"], topicPrefix: "customer_" });
    expect(rollupFilter({ ...emptyEventFilters, state: "failed" })).toBeNull();
    expect(filtersBeyondRollups({ ...emptyEventFilters, q: "x", customerID: "c" })).toEqual(["customerID", "q"]);
  });

  it("map the log's filters to the export's parameters", () => {
    const url = exportURL(
      { ...emptyEventFilters, topic: "transfer_created", resourceID: "AbC", customerID: "DeF", correlationID: "Cor", state: "processed", topicPrefix: "transfer_" },
      { from: new Date("2026-01-01T00:00:00Z"), to: null },
      "ndjson",
    );
    const [path, query] = url.split("?");
    expect(path).toBe("/api/analytics/export");
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual({
      type: "events",
      format: "ndjson",
      from: "2026-01-01T00:00:00.000Z",
      topic: "transfer_created",
      topicPrefix: "transfer_",
      resourceID: "abc",
      customerID: "def",
      correlationID: "Cor",
      state: "processed",
    });
  });

  it("refuse an export the search would not match", () => {
    expect(exportBlockedReason(emptyEventFilters)).toBeNull();
    expect(exportBlockedReason({ ...emptyEventFilters, q: "513e" })).toMatch(/free-text search/);
  });
});
