import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { emptyEventFilters } from "../../lib/eventFilters";
import { ExportMenu } from "./ExportMenu";

describe("ExportMenu", () => {
  it("links each format to the export with the log's filters", () => {
    render(<ExportMenu filters={{ ...emptyEventFilters, topic: "customer_created" }} bounds={{ from: new Date("2026-11-29T00:00:00Z"), to: null }} />);
    const csv = screen.getByRole("link", { name: "CSV" });
    expect(csv.getAttribute("href")).toBe("/api/analytics/export?type=events&format=csv&from=2026-11-29T00%3A00%3A00.000Z&topic=customer_created");
    expect(csv.hasAttribute("download")).toBe(true);
    expect(screen.getByRole("link", { name: "NDJSON" }).getAttribute("href")).toContain("format=ndjson");
  });

  it("is disabled, saying why, while a search is active", () => {
    render(<ExportMenu filters={{ ...emptyEventFilters, q: "513e" }} bounds={{ from: null, to: null }} />);
    expect(screen.queryByRole("link")).toBeNull();
    const csv = screen.getByRole("button", { name: "CSV" });
    expect(csv.getAttribute("aria-disabled")).toBe("true");
    expect(csv.getAttribute("title")).toMatch(/free-text search/);
    expect(screen.getByRole("button", { name: "JSON" }).getAttribute("aria-describedby")).toBeTruthy();
  });
});
