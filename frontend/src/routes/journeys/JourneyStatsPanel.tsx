// How a definition's journeys perform: counts by status, success rate,
// completion times and the step funnel, all from journeyStats.
import type { JourneyStatsQuery } from "../../gql/graphql";
import { formatNumber, formatPercent, formatSeconds } from "../../lib/format";

type Stats = JourneyStatsQuery["journeyStats"];

export function JourneyFunnel({ steps, instances }: { steps: Stats["steps"]; instances: number }) {
  const max = Math.max(1, instances);
  return (
    <table className="funnel data-table" data-testid="funnel">
      <caption className="muted">Step funnel: journeys that reached each step, of {formatNumber(instances)} started</caption>
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col" className="funnel-bar-col">
            Reached
          </th>
          <th scope="col">Waiting</th>
          <th scope="col">Dropped off</th>
          <th scope="col">Missed</th>
          <th scope="col">Over limit</th>
          <th scope="col">Median from previous</th>
        </tr>
      </thead>
      <tbody>
        {steps.map((s) => (
          <tr key={s.key}>
            <th scope="row">{s.name}</th>
            <td>
              <div className="funnel-bar" aria-hidden="true">
                <span style={{ width: `${(s.reached / max) * 100}%` }} />
              </div>
              {formatNumber(s.reached)} <span className="muted">({formatPercent(s.reachRate)})</span>
            </td>
            <td className="num">{formatNumber(s.waiting)}</td>
            <td className="num">
              {formatNumber(s.droppedOff)} {s.droppedOff > 0 && <span className="muted">({formatPercent(s.dropOffRate)})</span>}
            </td>
            <td className="num">{formatNumber(s.missed)}</td>
            <td className="num">{formatNumber(s.overLimit)}</td>
            <td className="num">{formatSeconds(s.medianSincePreviousSeconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function JourneyStatsPanel({ stats, name }: { stats: Stats; name: string }) {
  const byStatus = new Map(stats.byStatus.map((b) => [b.status, b.count]));
  return (
    <section className="card journey-stats" aria-labelledby="stats-title" data-testid="journey-stats">
      <h2 id="stats-title">{name}</h2>
      <dl className="tiles">
        <div>
          <dt>Started</dt>
          <dd data-testid="stats-instances">{formatNumber(stats.instances)}</dd>
        </div>
        <div>
          <dt>Success rate</dt>
          <dd>{formatPercent(stats.successRate)}</dd>
        </div>
        {(["active", "stuck", "completed", "failed", "abandoned"] as const).map((s) => (
          <div key={s}>
            <dt>{s}</dt>
            <dd>{formatNumber(byStatus.get(s) ?? 0)}</dd>
          </div>
        ))}
        <div>
          <dt>Completion p50</dt>
          <dd>{formatSeconds(stats.completion.p50Seconds)}</dd>
        </div>
        <div>
          <dt>Completion p90</dt>
          <dd>{formatSeconds(stats.completion.p90Seconds)}</dd>
        </div>
        {stats.completion.unknown > 0 && (
          <div title="Completed, but their first step was never seen: left out of the times">
            <dt>Duration unknown</dt>
            <dd data-testid="stats-unknown">{formatNumber(stats.completion.unknown)}</dd>
          </div>
        )}
        {stats.byOutcome
          .filter((o) => o.outcome !== "completed")
          .map((o) => (
            <div key={o.outcome}>
              <dt>{o.outcome.replace("_", " ")}</dt>
              <dd>{formatNumber(o.count)}</dd>
            </div>
          ))}
      </dl>
      {stats.steps.length > 0 && <JourneyFunnel steps={stats.steps} instances={stats.instances} />}
    </section>
  );
}
