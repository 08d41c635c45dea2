// The pipeline now: the status bar's live subscription (breaker, queue
// depth, oldest queued age), or the overview's snapshot until it arrives.
import { Link } from "react-router";
import { useSystemStatus } from "../../api/pipeline";
import type { OverviewPageQuery } from "../../gql/graphql";
import { formatAge, formatNumber } from "../../lib/format";

const breakerWords: Record<string, string> = { closed: "running", "half-open": "recovering", open: "paused (breaker open)" };

export function SystemPanel({ queue }: { queue: OverviewPageQuery["overview"]["queue"] }) {
  const { status } = useSystemStatus();
  const depth = status?.queueDepth ?? queue.depth;
  const oldest = status ? (status.oldestQueuedAt ? status.oldestQueuedAgeSeconds : null) : queue.oldestQueuedAt ? queue.oldestAgeSeconds : null;
  return (
    <section className="card" aria-labelledby="system-title" data-testid="system">
      <h2 id="system-title">System status</h2>
      <dl className="tiles">
        <div>
          <dt>Pipeline</dt>
          <dd className={status ? `breaker breaker-${status.breaker}` : undefined} data-testid="system-breaker">
            {status ? (breakerWords[status.breaker] ?? status.breaker) : "…"}
          </dd>
        </div>
        <div>
          <dt>Queue depth</dt>
          <dd data-testid="system-queue">{formatNumber(depth)}</dd>
        </div>
        <div>
          <dt>Oldest queued</dt>
          <dd>{oldest === null ? "—" : formatAge(oldest)}</dd>
        </div>
        <div>
          <dt>Processing</dt>
          <dd>{formatNumber(status?.processing ?? queue.processing)}</dd>
        </div>
        {status && (
          <>
            <div>
              <dt>Dead-lettered</dt>
              <dd>{status.deadLettered > 0 ? <Link to="/events?state=failed&range=all">{formatNumber(status.deadLettered)}</Link> : "0"}</dd>
            </div>
            <div>
              <dt>In / out per s</dt>
              <dd>
                {status.eventsInPerSecond.toFixed(1)} / {status.eventsOutPerSecond.toFixed(1)}
              </dd>
            </div>
          </>
        )}
      </dl>
      <p className="muted small">{status ? "Live, pushed by the server every second." : "Snapshot at load; waiting for the live status…"}</p>
    </section>
  );
}
