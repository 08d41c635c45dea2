// Alerts, newest first; firing ones by default. Admins acknowledge (stops
// re-notifying) or resolve with a note; each alert's notification log
// opens on demand.
import { useState } from "react";
import { useAcknowledgeAlert, useAlertNotifications, useResolveAlert } from "../../api/alerts";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import type { Pages } from "../../api/paging";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { AlertFieldsFragment, AlertWhereInput } from "../../gql/graphql";
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

function NotificationLog({ id }: { id: string }) {
  const { log, fetching, error } = useAlertNotifications(id);
  if (error) return <ErrorState error={error} title="Could not load the notifications" />;
  if (fetching && log.length === 0) return <Loading label="Loading notifications…" />;
  if (log.length === 0) return <p className="muted">No notifications sent.</p>;
  return (
    <table className="data-table compact">
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

export function AlertList({ pages, admin }: { pages: Pages<AlertFieldsFragment>; admin: boolean }) {
  const [open, setOpen] = useState<string | null>(null);
  const [resolving, setResolving] = useState<AlertFieldsFragment | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [, acknowledge] = useAcknowledgeAlert();
  const [{ fetching: resolvingBusy }, resolve] = useResolveAlert();

  if (pages.error) return <ErrorState error={pages.error} title="Could not load alerts" onRetry={pages.reload} />;
  if (pages.nodes.length === 0 && pages.loading) return <Loading label="Loading alerts…" />;
  if (pages.nodes.length === 0) return <EmptyState title="No alerts here." />;
  return (
    <>
      {error && <ErrorState error={error} title="Could not change the alert" />}
      <ul className="alert-list" data-testid="alert-list">
        {pages.nodes.map((a) => (
          <li key={a.id} className={`alert-item severity-border-${a.severity}`} data-testid="alert">
            <div className="alert-head">
              <span className={`badge severity-${a.severity}`}>{a.severity}</span>
              <span className={`badge alert-${a.status}`}>{a.status}</span>
              <strong>{a.title}</strong>
              <span className="muted small">
                {a.rule?.name ?? a.ruleKey} · since {formatTime(a.startedAt)} · {formatNumber(a.notifications)} notification
                {a.notifications === 1 ? "" : "s"}
              </span>
            </div>
            <p>{a.message}</p>
            {a.value !== null && a.value !== undefined && (
              <p className="muted small">
                Value {a.value}
                {a.threshold !== null && a.threshold !== undefined && <> against threshold {a.threshold}</>}
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
            <div className="row-actions">
              <button type="button" className="button ghost small" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                Notifications
              </button>
              {admin && a.status === "firing" && (
                <button
                  type="button"
                  className="button small"
                  onClick={() => {
                    setError(null);
                    void acknowledge({ id: a.id }).then((r) => {
                      if (r.error) setError(apiErrorFromCombined(r.error));
                      else pages.reload();
                    });
                  }}
                >
                  Acknowledge
                </button>
              )}
              {admin && a.status !== "resolved" && (
                <button type="button" className="button small" onClick={() => setResolving(a)}>
                  Resolve
                </button>
              )}
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
      {resolving && (
        <ConfirmDialog
          title={`Resolve “${resolving.title}”?`}
          confirmLabel="Resolve"
          busy={resolvingBusy || note.trim() === ""}
          onCancel={() => {
            setResolving(null);
            setNote("");
          }}
          onConfirm={() => {
            setError(null);
            void resolve({ id: resolving.id, note: note.trim() }).then((r) => {
              if (r.error) setError(apiErrorFromCombined(r.error));
              setResolving(null);
              setNote("");
              pages.reload();
            });
          }}
        >
          <p>If the condition still holds, the rule raises a new alert at its next evaluation.</p>
          <label htmlFor="alert-note">Note (required)</label>
          <input id="alert-note" value={note} onChange={(e) => setNote(e.target.value)} />
        </ConfirmDialog>
      )}
    </>
  );
}
