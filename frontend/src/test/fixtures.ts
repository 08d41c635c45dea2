// Data shaped like the server's answers, for component tests.
import type { AnomalyFieldsFragment } from "../gql/graphql";

export const anomalyFixture: AnomalyFieldsFragment = {
  id: "1",
  key: "volume_spike:transfer",
  type: "volume_spike",
  subject: "transfer",
  severity: "critical",
  status: "open",
  windowStart: "2026-11-29T10:04:00Z",
  windowEnd: "2026-11-29T10:09:00Z",
  observed: 27.4,
  expected: 0.4,
  expectedLow: 0,
  expectedHigh: 8,
  peakObserved: 27.4,
  score: 14.1,
  explanation: "transfer events 27.4/min over 5 min vs expected 0.40/min",
  firstSeenAt: "2026-11-29T10:08:00Z",
  lastSeenAt: "2026-11-29T10:09:00Z",
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: null,
  resolvedBy: null,
  resolutionNote: null,
};
