// Alerts, newest first; firing ones by default. Admins acknowledge (stops
// re-notifying) or resolve with a note; each alert's notification log
// opens on demand.
import { useState } from "react";
import { alertTargets, formatThreshold } from "../../lib/links";
import { Link } from "react-router";
import { useAlertNotifications, useAlertSetup } from "../../api/alerts";
import type { Pages } from "../../api/paging";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { AlertDeliveryRowFragment as AlertDeliveryRow, AlertFieldsFragment, AlertWhereInput } from "../../gql/graphql";
import { AlertActions } from "./AlertActions";
import { formatMs, formatNumber, formatTime } from "../../lib/format";

export type AlertStatusFilter = "firing" | "acknowledged" | "resolved" | "active" | "all";

export function parseAlertStatus(v: string | null): AlertStatusFilter {
  return v === "firing" || v === "acknowledged" || v === "resolved" || v === "all" ? v : "active";
}

export function alertWhere(status: AlertStatusFilter): AlertWhereInput {
  if (status === "all") return {};
  if (status === "active") return { statusIn: ["firing", "acknowledged"] };
  return { status };
}

/** An alert's notifications: channel, event, result, HTTP status, attempts and time. */
export function NotificationTable({ log }: { log: AlertDeliveryRow[] }) {
  if (log.length === 0) return <p className="muted">No notifications sent.</p>;
  return (
    <table className="data-table compact" data-testid="notification-log">
      <thead>
        <tr>
          <th scope="col">At</th>
          <th scope="col">Channel</th>
          <th scope="col">Event</th>
          <th scope="col">Result</th>
          <th scope="col">Took</th>
        </tr>
      </thead>
      <tbody>
        {log.map((n) => (
          <tr key={`${n.at}-${n.channel}-${n.event}`}>
            <td>{formatTime(n.at)}</td>
            <td>
              {n.channel} <span className="muted">({n.kind})</span>
            </td>
            <td>{n.event}</td>
            <td>
              {n.ok ? "sent" : <span className="error-message">{n.error ?? "failed"}</span>}
              {n.status !== null && n.status !== undefined && <span className="muted"> HTTP {n.status}</span>}
              {n.attempts > 1 && <span className="muted"> after {n.attempts} attempts</span>}
            </td>
            <td className="num">{formatMs(n.durationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NotificationLog({ id }: { id: string }) {
  const { log, fetching, error } = useAlertNotifications(id);
  if (error) return <ErrorState error={error} title="Could not load the notifications" />;
  if (fetching && log.length === 0) return <Loading label="Loading notifications…" />;
  return <NotificationTable log={log} />;
}

export function AlertList({ pages, admin }: { pages: Pages<AlertFieldsFragment>; admin: boolean }) {
  const [open, setOpen] = useState<string | null>(null);

  if (pages.error) return <ErrorState error={pages.error} title="Could not load alerts" onRetry={pages.reload} />;
  if (pages.nodes.length === 0 && pages.loading) return <Loading label="Loading alerts…" />;
  if (pages.nodes.length === 0) return <EmptyState title="No alerts here." />;
  return (
    <>
      <ul className="alert-list" data-testid="alert-list">
        {pages.nodes.map((a) => (
          <li key={a.id} className={`alert-item severity-border-${a.severity}`} data-testid="alert">
            <AlertSummary alert={a} link />
            <div className="row-actions">
              <button type="button" className="button ghost small" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                Notifications
              </button>
              {admin && <AlertActions alert={a} onChanged={pages.reload} />}
            </div>
            {open === a.id && <NotificationLog id={a.id} />}
          </li>
        ))}
      </ul>
      {pages.hasMore && (
        <button type="button" className="button" onClick={pages.loadMore} disabled={pages.loading}>
          Load more
        </button>
      )}
    </>
  );
}

/** What an alert says: severity, status, title (a link to its page), rule, message, value and who handled it. */
export function AlertSummary({ alert: a, link }: { alert: AlertFieldsFragment; link?: boolean }) {
  // The conditions' units come with the rules (one cached query for every alert shown).
  const { conditions } = useAlertSetup();
  const unit = conditions.find((c) => c.name === a.rule?.condition)?.unit;
  const targets = alertTargets(a.rule?.condition);
  return (
    <>
      <div className="alert-head">
        <span className={`badge severity-${a.severity}`}>{a.severity}</span>
        <span className={`badge alert-${a.status}`} data-testid="alert-status">
          {a.status}
        </span>
        <strong>{link ? <Link to={`/alerts/${a.id}`}>{a.title}</Link> : a.title}</strong>
        <span className="muted small">
          {a.rule?.name ?? a.ruleKey} · since {formatTime(a.startedAt)} · {formatNumber(a.notifications)} notification
          {a.notifications === 1 ? "" : "s"}
        </span>
      </div>
      <p className="pre-line">{a.message}</p>
      {a.value !== null && a.value !== undefined && (
        <p className="muted small" data-testid="alert-value">
          Value {formatThreshold(unit, a.value)}
          {a.threshold !== null && a.threshold !== undefined && <> against threshold {formatThreshold(unit, a.threshold)}</>}
        </p>
      )}
      {targets.length > 0 && (
        <p className="small alert-links" data-testid="alert-links">
          Look at:{" "}
          {targets.map((t, i) => (
            <span key={t.to}>
              {i > 0 && " · "}
              <Link to={t.to}>{t.label}</Link>
            </span>
          ))}
        </p>
      )}
      {a.acknowledgedAt && (
        <p className="muted small">
          Acknowledged by {a.acknowledgedBy ?? "?"} at {formatTime(a.acknowledgedAt)}
        </p>
      )}
      {a.resolvedAt && (
        <p className="muted small">
          Resolved {a.resolvedBy === "auto" ? "by itself" : `by ${a.resolvedBy ?? "?"}`} at {formatTime(a.resolvedAt)}
          {a.resolutionNote && `: ${a.resolutionNote}`}
        </p>
      )}
    </>
  );
}
