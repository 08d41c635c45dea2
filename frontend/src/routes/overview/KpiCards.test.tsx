import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { OverviewPageQuery } from "../../gql/graphql";
import { KpiCards } from "./KpiCards";

const fig = (value: number, previous: number) => ({ value, previous, delta: value - previous, change: previous ? (value - previous) / previous : null });
const measure = (value: number | null, previous: number | null) => ({ value, previous, delta: value !== null && previous !== null ? value - previous : null });
const latency = (p: number) => ({ count: fig(10, 10), avgMs: measure(p, p), p50Ms: measure(p, p * 2), p95Ms: measure(p * 2, p), p99Ms: measure(null, p) });

const overviewFixture: OverviewPageQuery["overview"] = {
  from: "2026-11-28T10:00:00Z",
  to: "2026-11-29T10:00:00Z",
  previousFrom: "2026-11-27T10:00:00Z",
  granularity: "hour",
  events: fig(1200, 1000),
  eventsFromSync: fig(3, 0),
  eventsPerMinute: fig(0.83, 0.69),
  deliveries: fig(1250, 1040),
  duplicateDeliveries: fig(50, 40),
  duplicateRate: measure(0.04, 0.038),
  rejectedDeliveries: fig(2, 4),
  badSignatures: fig(1, 4),
  rejectionRate: measure(0.0016, 0.0038),
  processed: fig(1190, 1000),
  waiting: fig(0, 0),
  deadLettered: fig(2, 0),
  failedAttempts: fig(5, 1),
  processingSuccessRate: measure(0.998, 1),
  processingFailureRate: measure(0.002, 0),
  processingLatency: latency(20),
  deliveryLag: latency(900),
  businessRates: [],
  byTopic: [],
  byResourceType: [],
  series: [],
  journeys: { active: 7, stuck: 2 },
  anomalies: { open: 1, acknowledged: 1, critical: 1, warning: 1, info: 0 },
  queue: { depth: 0, processing: 0, oldestQueuedAt: null, oldestAgeSeconds: 0 },
};

describe("KPI cards", () => {
  it("show each figure with its change, coloured by what is good", () => {
    render(
      <MemoryRouter>
        <KpiCards overview={overviewFixture} health={{ score: 92, run: null, history: [{ at: "2026-11-28T00:00:00Z", score: 95 }, { at: "2026-11-29T00:00:00Z", score: 92 }] }} search="?range=24h" />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("kpi-events-value").textContent).toBe("1,200");
    expect(screen.getByTestId("kpi-events-trend").className).toContain("trend-neutral");
    expect(screen.getByTestId("kpi-events-trend").textContent).toContain("+20 %");
    // Success fell: bad. Failures rose: bad.
    expect(screen.getByTestId("kpi-success-trend").className).toContain("trend-bad");
    expect(screen.getByTestId("kpi-failure-trend").className).toContain("trend-bad");
    expect(screen.getByTestId("kpi-latency-p50").textContent).toBe("20.0 ms");
    expect(screen.getByTestId("kpi-lag-p99").textContent).toBe("—");
    expect(screen.getByTestId("kpi-journeys").className).toContain("kpi-bad");
    expect(screen.getByTestId("kpi-journeys-stuck").textContent).toBe("2 stuck");
    expect(screen.getByTestId("kpi-anomalies-value").textContent).toBe("2");
    expect(screen.getByTestId("kpi-health-value").textContent).toBe("92.0");
    expect(screen.getByTestId("kpi-health-trend").textContent).toContain("−3.0 points");
  });

  it("never show a perfect health score while a part is below its best", () => {
    render(
      <MemoryRouter>
        <KpiCards overview={overviewFixture} health={{ score: 99.96, run: null, history: [] }} search="" />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("kpi-health-value").textContent).toBe("99.9");
  });

  it("say when no reconciliation has measured the health yet", () => {
    render(
      <MemoryRouter>
        <KpiCards overview={overviewFixture} health={{ score: null, run: null, history: [] }} search="" />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("kpi-health-value").textContent).toBe("—");
    expect(screen.getByText(/No reconciliation has run yet/)).toBeTruthy();
    expect(screen.queryByTestId("kpi-health-trend")).toBeNull();
  });
});
