// Failure rates of Dwolla's business flows from topic outcomes: failed vs
// created, and the share of finished flows that failed. Higher is worse.
import { TrendBadge } from "../../components/TrendBadge";
import type { OverviewPageQuery } from "../../gql/graphql";
import { formatNumber, formatPercent } from "../../lib/format";
import { figureTrend, measureTrend } from "../../lib/trend";

type Rates = OverviewPageQuery["overview"]["businessRates"];

const familyLabels: Record<string, string> = {
  transfer: "Transfers",
  bank_transfer: "Bank transfers",
  mass_payment: "Mass payments",
  microdeposits: "Micro-deposits",
  funding_source: "Funding sources",
  customer_verification: "Customer verifications",
  beneficial_owner: "Beneficial owners",
};

export function familyLabel(family: string): string {
  return familyLabels[family] ?? family.replaceAll("_", " ");
}

export function BusinessRates({ rates }: { rates: Rates }) {
  const active = rates.filter((r) => r.created.value + r.succeeded.value + r.failed.value + r.created.previous + r.failed.previous > 0);
  return (
    <section className="card" aria-labelledby="business-title" data-testid="business-rates">
      <h2 id="business-title">Business failure rates</h2>
      {active.length === 0 ? (
        <p className="muted">No business flows started or ended in this window or the previous one.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">Created</th>
                <th scope="col">Succeeded</th>
                <th scope="col">Failed</th>
                <th scope="col">Failed ÷ created</th>
                <th scope="col">Failed ÷ finished</th>
              </tr>
            </thead>
            <tbody>
              {active.map((r) => (
                <tr key={r.family} data-testid="business-row">
                  <th scope="row">{familyLabel(r.family)}</th>
                  <td className="num">{formatNumber(r.created.value)}</td>
                  <td className="num">{formatNumber(r.succeeded.value)}</td>
                  <td className="num">
                    {formatNumber(r.failed.value)} <TrendBadge trend={figureTrend(r.failed, "up-bad")} />
                  </td>
                  <td className="num">
                    {formatPercent(r.failureRate.value)} <TrendBadge trend={measureTrend(r.failureRate, "up-bad", "pts")} />
                  </td>
                  <td className="num">
                    {formatPercent(r.outcomeFailureRate.value)} <TrendBadge trend={measureTrend(r.outcomeFailureRate, "up-bad", "pts")} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">A failure can close a flow created before the window, so failed ÷ created is a rate, not a share.</p>
        </div>
      )}
    </section>
  );
}
