// Where the traffic comes from: the busiest topics and the resource types,
// each with its share and its change against the previous period.
import { Link } from "react-router";
import { TrendBadge } from "../../components/TrendBadge";
import type { OverviewPageQuery } from "../../gql/graphql";
import { formatMs, formatNumber, formatPercent } from "../../lib/format";
import { figureTrend } from "../../lib/trend";

type Overview = OverviewPageQuery["overview"];

/** Topics listed before "and N more". */
export const topicsShown = 12;

function ShareBar({ share }: { share: number }) {
  return (
    <span className="share-bar" aria-hidden="true">
      <span style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
    </span>
  );
}

export function TopicBreakdown({ topics, search }: { topics: Overview["byTopic"]; search: string }) {
  const shown = topics.slice(0, topicsShown);
  const link = (topic: string) => {
    const p = new URLSearchParams(search);
    p.set("topic", topic);
    return `/events?${p.toString()}`;
  };
  return (
    <section className="card" aria-labelledby="topics-title" data-testid="by-topic">
      <h2 id="topics-title">By topic</h2>
      {shown.length === 0 ? (
        <p className="muted">No events in this window.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table compact">
            <caption className="visually-hidden">Events per topic in the window, largest first</caption>
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col">Events</th>
                <th scope="col">Change</th>
                <th scope="col">Share</th>
                <th scope="col">Duplicates</th>
                <th scope="col">Dead-lettered</th>
                <th scope="col">p95 processing</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={t.topic} data-testid="topic-row">
                  <td>
                    <Link to={link(t.topic)}>{t.topic || "(none)"}</Link>
                    {!t.known && <span className="badge warn">unknown</span>}
                    {t.outcome && <span className={`badge outcome-${t.outcome}`}>{t.outcome}</span>}
                  </td>
                  <td className="num">{formatNumber(t.events.value)}</td>
                  <td>
                    <TrendBadge trend={figureTrend(t.events, "neutral")} />
                  </td>
                  <td className="nowrap">
                    <ShareBar share={t.share} /> {formatPercent(t.share)}
                  </td>
                  <td className="num">{formatNumber(t.duplicates)}</td>
                  <td className="num">{formatNumber(t.deadLettered)}</td>
                  <td className="num">{formatMs(t.p95ProcMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {topics.length > shown.length && <p className="muted small">and {formatNumber(topics.length - shown.length)} more topics.</p>}
        </div>
      )}
    </section>
  );
}

export function ResourceBreakdown({ resources }: { resources: Overview["byResourceType"] }) {
  return (
    <section className="card" aria-labelledby="resources-title" data-testid="by-resource">
      <h2 id="resources-title">By resource type</h2>
      {resources.length === 0 ? (
        <p className="muted">No events in this window.</p>
      ) : (
        <ul className="share-list">
          {resources.map((r) => (
            <li key={r.resourceType}>
              <span className="share-label">{r.resourceType}</span>
              <ShareBar share={r.share} />
              <span className="num">{formatNumber(r.events.value)}</span>
              <span className="muted small">{formatPercent(r.share)}</span>
              <TrendBadge trend={figureTrend(r.events, "neutral")} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
