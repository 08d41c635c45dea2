import { Link, useSearchParams } from "react-router";
import type { JourneyListItemFragment } from "../../gql/graphql";
import { formatSeconds, formatTime } from "../../lib/format";
import { withParam } from "../../lib/url";

export function JourneyStatus({
  status,
  failedAfterSuccess,
  outcome,
  endTopic,
}: {
  status: string;
  failedAfterSuccess?: boolean;
  outcome?: string | null;
  endTopic?: string | null;
}) {
  // The outcome tells a cancelled transfer from a return; shown when it
  // says more than the status.
  const detail = outcome && outcome !== status && outcome !== "completed" ? outcome.replace("_", " ") : "";
  const title = [failedAfterSuccess ? "Failed after completing: a late return" : "", endTopic ? `ended by ${endTopic}` : ""]
    .filter(Boolean)
    .join("; ");
  return (
    <span className={`badge journey-${status}`} title={title || undefined} data-testid="journey-status">
      {status}
      {detail ? ` · ${detail}` : failedAfterSuccess ? " after success" : ""}
    </span>
  );
}

export function Progress({ value }: { value: number }) {
  const pct = Math.max(0, Math.min(100, value));
  return (
    <span className="progress-cell">
      <span className="progress-track" aria-hidden="true">
        <span style={{ width: `${pct}%` }} />
      </span>
      {Math.round(pct)} %
    </span>
  );
}

function short(id: string): string {
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

export function JourneyTable({ journeys, names }: { journeys: JourneyListItemFragment[]; names: Map<string, string> }) {
  const [params] = useSearchParams();
  const href = (id: string) => withParam(params, "journey", id);
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="journey-table">
        <thead>
          <tr>
            <th scope="col">Journey</th>
            <th scope="col">Correlation</th>
            <th scope="col">Status</th>
            <th scope="col">Current step</th>
            <th scope="col">Progress</th>
            <th scope="col">Started</th>
            <th scope="col">Last event</th>
            <th scope="col">Duration</th>
            <th scope="col">Events</th>
          </tr>
        </thead>
        <tbody>
          {journeys.map((j) => (
            <tr key={j.id} data-testid="journey-row">
              <td>
                <Link to={href(j.id)}>{names.get(j.definitionKey) ?? j.definitionKey}</Link>
              </td>
              <td title={j.correlationKey}>
                <code>{short(j.correlationKey)}</code>
              </td>
              <td>
                <JourneyStatus status={j.status} failedAfterSuccess={j.failedAfterSuccess} outcome={j.outcome} endTopic={j.endTopic} />
              </td>
              <td>{j.currentStepName ?? j.currentStep ?? "—"}</td>
              <td>
                <Progress value={j.progress} />
              </td>
              <td>{formatTime(j.startedAt)}</td>
              <td>{formatTime(j.lastEventAt)}</td>
              <td className="num" title={j.status === "completed" && (j.durationMs === null || j.durationMs === undefined) ? "unknown: its first step was never seen" : undefined}>
                {j.durationMs !== null && j.durationMs !== undefined ? formatSeconds(j.durationMs / 1000) : "—"}
              </td>
              <td className="num">{j.eventCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
