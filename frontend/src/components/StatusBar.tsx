// The footer: the pipeline's state as the server pushes it (systemStatus
// subscription), on every page.
import { Link } from "react-router";
import { useSystemStatus } from "../api/pipeline";
import { formatAge, formatNumber } from "../lib/format";

const breakerLabels: Record<string, string> = {
  closed: "Pipeline running",
  "half-open": "Pipeline recovering",
  open: "Pipeline paused (breaker open)",
};


export function StatusBar() {
  const { status, error } = useSystemStatus();
  if (!status) {
    return (
      <footer className="statusbar" data-testid="statusbar">
        <span className="muted">{error ? `Pipeline status unavailable: ${error.message}` : "Connecting to the pipeline status…"}</span>
      </footer>
    );
  }
  return (
    <footer className="statusbar" data-testid="statusbar">
      <span className={`breaker breaker-${status.breaker}`} data-testid="breaker">
        {breakerLabels[status.breaker] ?? `Pipeline ${status.breaker}`}
      </span>
      <span>
        Queue <strong>{formatNumber(status.queueDepth)}</strong>
        {status.queueDepth > 0 && <span className="muted"> (oldest {formatAge(status.oldestQueuedAgeSeconds)})</span>}
      </span>
      <span>
        Processing <strong>{formatNumber(status.processing)}</strong>
      </span>
      <span>
        {status.deadLettered > 0 ? (
          <Link to="/events?state=failed&range=all">
            Dead-lettered <strong>{formatNumber(status.deadLettered)}</strong>
          </Link>
        ) : (
          <>
            Dead-lettered <strong>0</strong>
          </>
        )}
      </span>
      <span>
        In <strong>{status.eventsInPerSecond.toFixed(2)}</strong>/s · Out <strong>{status.eventsOutPerSecond.toFixed(2)}</strong>/s
      </span>
      <span className="muted statusbar-end">
        Workers {status.workersBusy}/{status.workers} · {status.instance}
      </span>
    </footer>
  );
}
