// The pipeline at a glance, from the shell's systemStatus subscription.
import { Link } from "react-router";
import { useSystemStatus } from "../../api/pipeline";
import { ErrorState } from "../../components/States";
import { formatAge, formatNumber, formatTime } from "../../lib/format";

export function PipelinePanel() {
  const { status, error } = useSystemStatus();
  if (error && !status) return <ErrorState error={error} title="Pipeline status unavailable" />;
  if (!status) return null;
  return (
    <section className="pipeline card" aria-labelledby="pipeline-title" data-testid="pipeline">
      <h2 id="pipeline-title">Pipeline</h2>
      <dl className="tiles">
        <div>
          <dt>Circuit breaker</dt>
          <dd className={`breaker breaker-${status.breaker}`}>{status.breaker}</dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd>{formatNumber(status.queueDepth)}</dd>
        </div>
        <div>
          <dt>Oldest queued</dt>
          <dd>{status.oldestQueuedAt ? formatAge(status.oldestQueuedAgeSeconds) : "—"}</dd>
        </div>
        <div>
          <dt>Processing</dt>
          <dd>{formatNumber(status.processing)}</dd>
        </div>
        <div>
          <dt>Dead-lettered</dt>
          <dd>{status.deadLettered > 0 ? <Link to="/events?state=failed&range=all">{formatNumber(status.deadLettered)}</Link> : "0"}</dd>
        </div>
        <div>
          <dt>Stored/s (1 min)</dt>
          <dd>{status.eventsInPerSecond.toFixed(2)}</dd>
        </div>
        <div>
          <dt>Processed/s (1 min)</dt>
          <dd>{status.eventsOutPerSecond.toFixed(2)}</dd>
        </div>
        <div>
          <dt>Workers busy</dt>
          <dd>
            {status.workersBusy} / {status.workers}
          </dd>
        </div>
        <div>
          <dt>Live subscribers</dt>
          <dd>{status.liveSubscribers}</dd>
        </div>
      </dl>
      <p className="muted small">
        Instance {status.instance}
        {status.schedulerLeader ? " (runs the scheduled jobs)" : ""} · measured {formatTime(status.measuredAt)}
      </p>
    </section>
  );
}
