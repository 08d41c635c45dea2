import { describe, expect, it } from "vitest";
import type { EventListItemFragment } from "../../gql/graphql";
import { bufferSize, initialMonitorState, monitorReducer } from "./MonitorRoute";

function ev(n: number): EventListItemFragment {
  return {
    id: String(n),
    eventID: `e${n}`,
    topic: "customer_created",
    topicKnown: true,
    topicMismatch: false,
    resourceType: null,
    resourceID: null,
    customerID: null,
    correlationID: null,
    createdAt: "2026-01-01T00:00:00Z",
    receivedAt: "2026-01-01T00:00:00Z",
    processingState: "queued",
    deliveryCount: 1,
    source: "webhook",
  };
}

describe("monitor state", () => {
  it("shows the newest first and keeps a bounded buffer", () => {
    let s = initialMonitorState(0);
    for (let i = 0; i < bufferSize + 5; i++) s = monitorReducer(s, { type: "event", event: ev(i), at: i });
    expect(s.shown).toHaveLength(bufferSize);
    expect(s.shown[0]?.id).toBe(String(bufferSize + 4));
    expect(s.total).toBe(bufferSize + 5);
  });

  it("holds events while paused and shows them on resume", () => {
    let s = monitorReducer(initialMonitorState(0), { type: "event", event: ev(1), at: 1 });
    s = monitorReducer(s, { type: "pause" });
    s = monitorReducer(s, { type: "event", event: ev(2), at: 2 });
    s = monitorReducer(s, { type: "event", event: ev(3), at: 3 });
    expect(s.shown.map((e) => e.id)).toEqual(["1"]);
    expect(s.pending).toHaveLength(2);
    s = monitorReducer(s, { type: "resume" });
    expect(s.shown.map((e) => e.id)).toEqual(["3", "2", "1"]);
    expect(s.pending).toEqual([]);
  });

  it("counts arrivals for the rate and clears", () => {
    let s = initialMonitorState(0);
    s = monitorReducer(s, { type: "event", event: ev(1), at: 1000 });
    s = monitorReducer(s, { type: "tick", at: 20_000 });
    expect(s.arrivals).toEqual([]);
    s = monitorReducer(s, { type: "clear", at: 21_000 });
    expect(s.total).toBe(0);
    expect(s.since).toBe(21_000);
  });
});
