import { describe, expect, it } from "vitest";
import { journeyWhere, parseJourneyFilters, writeJourneyFilters } from "./journeyFilters";

describe("journey filters", () => {
  it("round-trip through the URL and ignore unknown statuses", () => {
    const f = { definition: "bank_transfer", status: "stuck" as const, q: "AbC" };
    const p = writeJourneyFilters(new URLSearchParams("range=all&journey=9"), f);
    expect(parseJourneyFilters(p)).toEqual(f);
    expect(p.get("range")).toBe("all");
    expect(parseJourneyFilters(new URLSearchParams("status=lost")).status).toBe("");
  });

  it("select journeys started in the range", () => {
    const w = journeyWhere(
      { definition: "transfer", status: "", q: "AbC" },
      { from: new Date("2026-01-01T00:00:00Z"), to: null },
    );
    expect(w).toEqual({
      definitionKey: "transfer",
      startedAtGTE: "2026-01-01T00:00:00.000Z",
      or: [{ correlationKeyContainsFold: "abc" }, { customerIDContainsFold: "abc" }, { resourceIDContainsFold: "abc" }],
    });
  });
});
