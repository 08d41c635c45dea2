import { describe, expect, it } from "vitest";
import { emptyEventFilters, eventWhere, hasEventFilters, parseEventFilters, writeEventFilters } from "./eventFilters";

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
