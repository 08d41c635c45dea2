// Anomalies, newest first; open and acknowledged by default. Each opens a
// chart of what was observed against what was expected. Admins acknowledge
// (someone is on it) or resolve with a note.
import { Link } from "react-router";
import { anomalyTargets } from "../../lib/links";
import { useState } from "react";
import { useAcknowledgeAnomaly, useResolveAnomaly } from "../../api/anomalies";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import type { Pages } from "../../api/paging";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { AnomalyFieldsFragment } from "../../gql/graphql";
import { anomalySeverities, anomalyTypes, formatAnomalyValue, type AnomalyFilters } from "../../lib/anomalies";
import { formatTime } from "../../lib/format";
import { AnomalyChart } from "./AnomalyChart";

const statusLabels: Record<AnomalyFilters["status"], string> = {
  active: "Open or acknowledged",
  open: "Open",
  acknowledged: "Acknowledged",
  resolved: "Resolved",
  all: "All",
};

export function anomalyTitle(a: Pick<AnomalyFieldsFragment, "type" | "subject">): string {
  const type = a.type.replaceAll("_", " ");
  return a.subject && a.subject !== "all" ? `${type}: ${a.subject.replaceAll("_", " ")}` : type;
}

export function AnomalyFiltersForm({ filters, onChange }: { filters: AnomalyFilters; onChange: (f: AnomalyFilters) => void }) {
  return (
    <div className="filters" role="search" aria-label="Filter anomalies">
      <div className="field">
        <label htmlFor="an-status">Status</label>
        <select id="an-status" value={filters.status} onChange={(e) => onChange({ ...filters, status: e.target.value as AnomalyFilters["status"] })}>
          {(Object.keys(statusLabels) as AnomalyFilters["status"][]).map((s) => (
            <option key={s} value={s}>
              {statusLabels[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="an-severity">Severity</label>
        <select id="an-severity" value={filters.severity} onChange={(e) => onChange({ ...filters, severity: e.target.value as AnomalyFilters["severity"] })}>
          <option value="">any severity</option>
          {anomalySeverities.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="an-type">Type</label>
        <select id="an-type" value={filters.type} onChange={(e) => onChange({ ...filters, type: e.target.value })}>
          <option value="">any type</option>
          {anomalyTypes.map((t) => (
            <option key={t} value={t}>
              {t.replaceAll("_", " ")}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

export function AnomalyList({ pages, admin, filtered }: { pages: Pages<AnomalyFieldsFragment>; admin: boolean; filtered: boolean }) {
  const [open, setOpen] = useState<string | null>(null);
  const [resolving, setResolving] = useState<AnomalyFieldsFragment | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching: acknowledging }, acknowledge] = useAcknowledgeAnomaly();
  const [{ fetching: resolvingBusy }, resolve] = useResolveAnomaly();
  const { patch } = pages;

  if (pages.error) return <ErrorState error={pages.error} title="Could not load anomalies" onRetry={pages.reload} />;
  if (pages.nodes.length === 0 && pages.loading) return <Loading label="Loading anomalies…" />;
  if (pages.nodes.length === 0) {
    return (
      <EmptyState title={filtered ? "No anomalies match." : "No open anomalies."}>
        <p className="muted">The scanner checks the rollups every minute; new anomalies appear here as they open.</p>
      </EmptyState>
    );
  }
  const replace = (a: AnomalyFieldsFragment) => patch((row) => (row.id === a.id ? a : row));
  return (
    <>
      {error && <ErrorState error={error} title="Could not change the anomaly" />}
      <ul className="alert-list" data-testid="anomaly-list">
        {pages.nodes.map((a) => (
          <li key={a.id} className={`alert-item severity-border-${a.severity}`} data-testid="anomaly" data-key={a.key} data-anomaly-id={a.id}>
            <div className="alert-head">
              <span className={`badge severity-${a.severity}`}>{a.severity}</span>
              <span className={`badge anomaly-${a.status}`} data-testid="anomaly-status">
                {a.status}
              </span>
              <strong>{anomalyTitle(a)}</strong>
              <span className="muted small">
                first seen {formatTime(a.firstSeenAt)} · last seen {formatTime(a.lastSeenAt)} · score {a.score.toFixed(1)}
              </span>
            </div>
            <p>{a.explanation}</p>
            <p className="muted small">
              Observed <strong>{formatAnomalyValue(a.type, a.observed)}</strong> against expected {formatAnomalyValue(a.type, a.expected)}
              {a.expectedLow !== null && a.expectedLow !== undefined && (
                <>
                  {" "}
                  (normal {formatAnomalyValue(a.type, a.expectedLow)} – {formatAnomalyValue(a.type, a.expectedHigh)})
                </>
              )}{" "}
              from {formatTime(a.windowStart)} to {formatTime(a.windowEnd)}
              {a.peakObserved !== null && a.peakObserved !== undefined && (
                <> · at its worst the detector measured {formatAnomalyValue(a.type, a.peakObserved)} over its window</>
              )}
            </p>
            <p className="small" data-testid="anomaly-links">
              Look at:{" "}
              {anomalyTargets(a).map((t, i) => (
                <span key={t.to}>
                  {i > 0 && " · "}
                  <Link to={t.to}>{t.label}</Link>
                </span>
              ))}
            </p>
            {a.acknowledgedAt && (
              <p className="muted small">
                Acknowledged by {a.acknowledgedBy ?? "?"} at {formatTime(a.acknowledgedAt)}
              </p>
            )}
            {a.resolvedAt && (
              <p className="muted small" data-testid="anomaly-resolution">
                Resolved {a.resolvedBy === "auto" ? "by itself once normal" : `by ${a.resolvedBy ?? "?"}`} at {formatTime(a.resolvedAt)}
                {a.resolutionNote && `: ${a.resolutionNote}`}
              </p>
            )}
            <div className="row-actions">
              <button type="button" className="button ghost small" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                Observed vs expected
              </button>
              {admin && a.status === "open" && (
                <button
                  type="button"
                  className="button small"
                  disabled={acknowledging}
                  onClick={() => {
                    setError(null);
                    void acknowledge({ id: a.id }).then((r) => {
                      if (r.error) setError(apiErrorFromCombined(r.error));
                      else if (r.data) replace(r.data.acknowledgeAnomaly);
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
            {open === a.id && <AnomalyChart anomaly={a} />}
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
          title={`Resolve “${anomalyTitle(resolving)}”?`}
          confirmLabel="Resolve"
          busy={resolvingBusy}
          onCancel={() => {
            setResolving(null);
            setNote("");
          }}
          onConfirm={() => {
            setError(null);
            void resolve({ id: resolving.id, note: note.trim() || null }).then((r) => {
              if (r.error) setError(apiErrorFromCombined(r.error));
              else if (r.data) replace(r.data.resolveAnomaly);
              setResolving(null);
              setNote("");
            });
          }}
        >
          <p>This ends the episode. If the signal persists, the next scan opens a new anomaly: acknowledge instead to keep this one.</p>
          <label htmlFor="anomaly-note">Note (optional)</label>
          <input id="anomaly-note" value={note} onChange={(e) => setNote(e.target.value)} placeholder="What was done" />
        </ConfirmDialog>
      )}
    </>
  );
}
