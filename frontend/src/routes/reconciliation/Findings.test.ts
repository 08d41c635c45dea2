import { describe, expect, it } from "vitest";
import type { FindingFieldsFragment } from "../../gql/graphql";
import { findingWhere, groupFindings, parseFindingFilters, writeFindingFilters } from "./Findings";
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

describe("finding groups", () => {
  const finding = (id: string, kind: string, topic: string | null, status = "open", severity = "warning") =>
    ({ id, kind, severity, subject: id, topic, resourceID: null, detail: "", status, autoResolved: false, createdAt: "2026-12-07T10:00:00Z" }) as FindingFieldsFragment;

  it("count the open findings by kind and cause, largest first", () => {
    const groups = groupFindings([
      finding("1", "failed_delivery", "transfer_created"),
      finding("2", "missing_event", null),
      finding("3", "failed_delivery", "transfer_created"),
      finding("4", "failed_delivery", "customer_created"),
      finding("5", "failed_delivery", "transfer_created", "resolved"),
      finding("6", "failed_delivery", "transfer_created", "open", "critical"),
    ]);
    expect(groups.map((g) => [g.kind, g.severity, g.topic, g.ids])).toEqual([
      ["failed_delivery", "warning", "transfer_created", ["1", "3"]],
      ["failed_delivery", "critical", "transfer_created", ["6"]],
      ["failed_delivery", "warning", "customer_created", ["4"]],
      ["missing_event", "warning", null, ["2"]],
    ]);
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
