// Processing latency (receipt → processed) and delivery lag (Dwolla's
// created → our receipt): mean and percentiles, against the previous
// period. Percentiles come from fixed histogram buckets.
import { TrendBadge } from "../../components/TrendBadge";
import type { LatencyFieldsFragment } from "../../gql/graphql";
import { formatMs, formatNumber } from "../../lib/format";
import { measureTrend } from "../../lib/trend";

const rows = [
  ["mean", "avgMs"],
  ["p50", "p50Ms"],
  ["p95", "p95Ms"],
  ["p99", "p99Ms"],
] as const;

export function LatencyTable({ processing, lag }: { processing: LatencyFieldsFragment; lag: LatencyFieldsFragment }) {
  return (
    <section className="card" aria-labelledby="latency-title" data-testid="latency">
      <h2 id="latency-title">Latency percentiles</h2>
      <table className="data-table compact">
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Statistic</span>
            </th>
            <th scope="col">Processing (receipt → processed)</th>
            <th scope="col">Delivery lag (created → received)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, key]) => (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td className="num">
                {formatMs(processing[key].value)} <TrendBadge trend={measureTrend(processing[key], "up-bad", "ms")} />
              </td>
              <td className="num">
                {formatMs(lag[key].value)} <TrendBadge trend={measureTrend(lag[key], "up-bad", "ms")} />
              </td>
            </tr>
          ))}
          <tr>
            <th scope="row">measured</th>
            <td className="num">{formatNumber(processing.count.value)}</td>
            <td className="num">{formatNumber(lag.count.value)}</td>
          </tr>
        </tbody>
      </table>
      <p className="muted small">Percentiles are interpolated within fixed histogram buckets; webhooks only for delivery lag.</p>
    </section>
  );
}
