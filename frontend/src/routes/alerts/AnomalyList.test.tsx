import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { Client, Provider } from "urql";
import { describe, expect, it, vi } from "vitest";
import type { Pages } from "../../api/paging";
import type { AnomalyFieldsFragment } from "../../gql/graphql";
import { anomalyFixture } from "../../test/fixtures";
import { AnomalyList, anomalyTitle } from "./AnomalyList";

const client = new Client({ url: "/graphql", exchanges: [] });

function pages(nodes: AnomalyFieldsFragment[]): Pages<AnomalyFieldsFragment> {
  return { nodes, totalCount: nodes.length, hasMore: false, loading: false, error: null, loadMore: vi.fn(), reload: vi.fn(), refresh: vi.fn(), drop: vi.fn(), patch: vi.fn(), prepend: vi.fn() };
}

function renderList(nodes: AnomalyFieldsFragment[], admin: boolean) {
  return render(
    <MemoryRouter>
      <Provider value={client}>
        <AnomalyList pages={pages(nodes)} admin={admin} filtered={false} />
      </Provider>
    </MemoryRouter>,
  );
}

describe("anomaly list", () => {
  it("shows what was observed against what was expected, and admins' actions", () => {
    renderList([anomalyFixture, { ...anomalyFixture, id: "2", status: "acknowledged", acknowledgedBy: "alice", acknowledgedAt: "2026-11-29T10:10:00Z" }], true);
    const rows = screen.getAllByTestId("anomaly");
    expect(rows).toHaveLength(2);
    expect(rows[0]?.textContent).toContain("Observed 27.4/min against expected 0.40/min (normal 0.00/min – 8.00/min)");
    expect(screen.getAllByRole("button", { name: "Acknowledge" })).toHaveLength(1);
    expect(screen.getAllByRole("button", { name: "Resolve" })).toHaveLength(2);
    expect(rows[1]?.textContent).toContain("Acknowledged by alice");
  });

  it("gives viewers no actions, and says when nothing is open", () => {
    renderList([{ ...anomalyFixture, status: "resolved", resolvedBy: "auto", resolvedAt: "2026-11-29T10:30:00Z" }], false);
    expect(screen.queryByRole("button", { name: "Acknowledge" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Resolve" })).toBeNull();
    expect(screen.getByTestId("anomaly-resolution").textContent).toContain("by itself once normal");
  });

  it("reads as type and subject", () => {
    expect(anomalyTitle({ type: "volume_spike", subject: "bank_transfer" })).toBe("volume spike: bank transfer");
    expect(anomalyTitle({ type: "delivery_lag", subject: "all" })).toBe("delivery lag");
  });
});
