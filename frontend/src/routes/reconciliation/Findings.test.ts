import { describe, expect, it } from "vitest";
import { findingWhere, parseFindingFilters, writeFindingFilters } from "./Findings";
import { humanize, scoreClass } from "./HealthPanel";

describe("findings filters", () => {
  it("default to open findings and round-trip through the URL", () => {
    expect(parseFindingFilters(new URLSearchParams())).toEqual({ status: "open", kind: "", severity: "" });
    const f = { status: "all" as const, kind: "dead_lettered", severity: "critical" };
    expect(parseFindingFilters(writeFindingFilters(new URLSearchParams(), f))).toEqual(f);
    expect(writeFindingFilters(new URLSearchParams("findings=all"), { status: "open", kind: "", severity: "" }).toString()).toBe("");
    expect(parseFindingFilters(new URLSearchParams("kind=bogus")).kind).toBe("");
  });

  it("build the server filter", () => {
    expect(findingWhere({ status: "open", kind: "stuck_event", severity: "" })).toEqual({ status: "open", kind: "stuck_event" });
    expect(findingWhere({ status: "all", kind: "", severity: "" })).toEqual({});
  });
});

describe("health", () => {
  it("names the parts and colours the score", () => {
    expect(humanize("freshness")).toBe("Freshness (queue wait)");
    expect(humanize("brand_new_part")).toBe("brand new part");
    expect(scoreClass(95)).toBe("score-good");
    expect(scoreClass(75)).toBe("score-fair");
    expect(scoreClass(10)).toBe("score-bad");
    expect(scoreClass(null)).toBe("score-none");
  });
});
