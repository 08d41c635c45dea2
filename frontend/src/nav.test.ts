import { describe, expect, it } from "vitest";
import { navItems, navSearch } from "./nav";

describe("navigation", () => {
  it("carries only the time range to pages that use it", () => {
    const events = navItems.find((i) => i.to === "/events");
    const monitor = navItems.find((i) => i.to === "/monitor");
    if (!events || !monitor) throw new Error("missing nav items");
    const current = new URLSearchParams("range=7d&topic=x&event=abc");
    expect(navSearch(current, events)).toBe("?range=7d");
    expect(navSearch(current, monitor)).toBe("");
  });

  it("lists only pages whose API exists", () => {
    expect(navItems.map((i) => i.label)).toEqual(["Overview", "Events", "Journeys", "Customers", "Reconciliation", "Anomalies & alerts", "Monitor", "Settings", "Playground"]);
  });
});
