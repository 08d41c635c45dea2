// One alert (/alerts/:id, where notifications link): what it says, who
// handled it, and every notification sent for it. Follows alertChanged.
import { useCallback } from "react";
import { Link, useParams } from "react-router";
import { useAlert, useAlertStream } from "../../api/alerts";
import { useIsAdmin } from "../../api/sessionContext";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { AlertActions } from "./AlertActions";
import { AlertSummary, NotificationTable } from "./AlertList";

export function AlertRoute() {
  const { id = "" } = useParams();
  const admin = useIsAdmin();
  const { alert, found, error, refresh } = useAlert(id);
  const onChange = useCallback(() => refresh(), [refresh]);
  useAlertStream(onChange);

  if (error) return <ErrorState error={error} title="Could not load the alert" onRetry={refresh} />;
  if (found === false) {
    return (
      <EmptyState title="No alert has this id.">
        <p>
          <Link to="/alerts?status=all">See every alert</Link>
        </p>
      </EmptyState>
    );
  }
  if (!alert) return <Loading label="Loading the alert…" />;
  return (
    <div className="alert-page">
      <p>
        <Link to="/alerts">← Anomalies &amp; alerts</Link>
      </p>
      <article className={`alert-item severity-border-${alert.severity}`} data-testid="alert-detail">
        <AlertSummary alert={alert} />
        {admin && (
          <div className="row-actions">
            <AlertActions alert={alert} onChanged={refresh} />
          </div>
        )}
      </article>
      <section aria-labelledby="notifications-title">
        <h2 id="notifications-title">Notifications</h2>
        <NotificationTable log={alert.notificationLog} />
      </section>
    </div>
  );
}
