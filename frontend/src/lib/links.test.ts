import { describe, expect, it } from "vitest";
import { alertTargets, anomalyTargets, formatThreshold } from "./links";

describe("where alerts and anomalies lead", () => {
  it("sends the dead-letter alert to the failed events", () => {
    expect(alertTargets("dead_letters")).toEqual([{ label: "The dead-lettered events", to: "/events?state=failed&range=all" }]);
    expect(alertTargets("stuck_journeys", { definition: "bank_transfer" })[0]?.to).toBe("/journeys?status=stuck&range=all&definition=bank_transfer");
    expect(alertTargets("anomaly")[0]?.to).toBe("/alerts?anomalies=open");
    expect(alertTargets("unknown")).toEqual([]);
  });

  it("sends an anomaly to what it measured over its window", () => {
    const w = { windowStart: "2026-12-07T10:00:00Z", windowEnd: "2026-12-07T10:05:00Z" };
    expect(anomalyTargets({ type: "signature_failures", ...w })[0]?.to).toBe(
      "/events/deliveries?outcome=bad_signature&from=2026-12-07T10%3A00%3A00Z&to=2026-12-07T10%3A05%3A00Z",
    );
    expect(anomalyTargets({ type: "volume_spike", subject: "transfer", ...w })[0]?.label).toMatch(/transfer among them/);
    expect(anomalyTargets({ type: "processing_errors", ...w })[0]?.to).toMatch(/^\/events\?state=failed&from=/);
  });

  it("reads thresholds in their unit", () => {
    expect(formatThreshold("percent", 5)).toBe("5 %");
    expect(formatThreshold("seconds", 300)).toBe("300 s (5 min)");
    expect(formatThreshold("seconds", 45)).toBe("45 s");
    expect(formatThreshold("score", 80)).toBe("80 / 100");
    expect(formatThreshold("count", 1)).toBe("1");
    expect(formatThreshold("count", null)).toBe("—");
  });
});
