// Recent reconciliation and sync runs; admins start new ones.
import { useState } from "react";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useResumeSync, useRunReconciliation, useStartSync } from "../../api/reconcile";
import { ErrorState } from "../../components/States";
import type { ReconRunFieldsFragment, SyncRunFieldsFragment } from "../../gql/graphql";
import { formatNumber, formatSeconds, formatTime } from "../../lib/format";

export function RunStatus({ status }: { status: string }) {
  return <span className={`badge job-${status === "running" ? "running" : status}`}>{status}</span>;
}

export function ReconActions({ configured, onStarted }: { configured: boolean; onStarted: () => void }) {
  const [{ fetching: reconciling }, run] = useRunReconciliation();
  const [{ fetching: syncing }, sync] = useStartSync();
  const [error, setError] = useState<ApiError | null>(null);
  const [windowValue, setWindowValue] = useState("24h");
  const [since, setSince] = useState("");
  return (
    <section className="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Run now</h2>
      <div className="inline-form">
        <div className="field">
          <label htmlFor="r-window">Reconcile the last</label>
          <select id="r-window" value={windowValue} onChange={(e) => setWindowValue(e.target.value)}>
            <option value="1h">hour</option>
            <option value="24h">24 hours</option>
            <option value="168h">7 days</option>
            <option value="720h">30 days</option>
          </select>
        </div>
        <div className="field actions">
          <button
            type="button"
            className="button primary"
            disabled={reconciling}
            data-testid="run-reconciliation"
            onClick={() => {
              setError(null);
              void run({ window: windowValue }).then((r) => {
                if (r.error) setError(apiErrorFromCombined(r.error));
                else onStarted();
              });
            }}
          >
            Run reconciliation
          </button>
        </div>
        <div className="field">
          <label htmlFor="s-since">Import missed events created since</label>
          <input id="s-since" type="date" value={since} onChange={(e) => setSince(e.target.value)} disabled={!configured} />
        </div>
        <div className="field actions">
          <button
            type="button"
            className="button"
            disabled={!configured || syncing}
            title={configured ? undefined : "Needs Dwolla API credentials (DWOLLA_KEY, DWOLLA_SECRET)"}
            onClick={() => {
              setError(null);
              void sync({ since: since ? new Date(`${since}T00:00:00`).toISOString() : null }).then((r) => {
                if (r.error) setError(apiErrorFromCombined(r.error));
                else onStarted();
              });
            }}
          >
            Start sync
          </button>
        </div>
      </div>
      {!configured && <p className="muted small">Sync needs Dwolla API credentials; reconciliation still checks processing and journeys.</p>}
      {error && <ErrorState error={error} title="Could not start" />}
    </section>
  );
}

export function ReconRunsTable({ runs, total }: { runs: ReconRunFieldsFragment[]; total: number }) {
  if (runs.length === 0) return <p className="muted">No reconciliation runs yet.</p>;
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="recon-runs">
        <caption className="muted">{total > runs.length ? `Latest ${runs.length} of ${formatNumber(total)}` : `${total} run${total === 1 ? "" : "s"}`}</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Window</th>
            <th scope="col">At Dwolla</th>
            <th scope="col">Missing</th>
            <th scope="col">Imported</th>
            <th scope="col">Failed deliveries</th>
            <th scope="col">Findings</th>
            <th scope="col">Health</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid="recon-run">
              <td>{formatTime(r.startedAt)}</td>
              <td>
                <RunStatus status={r.status} />
                {r.error && <div className="error-message small">{r.error}</div>}
              </td>
              <td>{r.trigger}</td>
              <td className="small">
                {formatTime(r.windowStart)} – {formatTime(r.windowEnd)}
              </td>
              <td className="num">{formatNumber(r.dwollaEvents)}</td>
              <td className="num">{formatNumber(r.missing)}</td>
              <td className="num">{formatNumber(r.imported)}</td>
              <td className="num">{formatNumber(r.failedDeliveries)}</td>
              <td className="num">{formatNumber(r.findingCount)}</td>
              <td className="num">{r.healthScore === null || r.healthScore === undefined ? "—" : r.healthScore.toFixed(0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SyncRunsTable({ runs, total, admin, onResumed }: { runs: SyncRunFieldsFragment[]; total: number; admin: boolean; onResumed: () => void }) {
  const [{ fetching }, resume] = useResumeSync();
  const [error, setError] = useState<ApiError | null>(null);
  if (runs.length === 0) return <p className="muted">No sync runs yet.</p>;
  return (
    <div className="table-wrap">
      {error && <ErrorState error={error} title="Could not resume the sync" />}
      <table className="data-table" data-testid="sync-runs">
        <caption className="muted">{total > runs.length ? `Latest ${runs.length} of ${formatNumber(total)}` : `${total} run${total === 1 ? "" : "s"}`}</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Since</th>
            <th scope="col">Pages</th>
            <th scope="col">Seen</th>
            <th scope="col">Imported</th>
            <th scope="col">Already here</th>
            <th scope="col">Errors</th>
            <th scope="col">Took</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{formatTime(r.startedAt)}</td>
              <td>
                <RunStatus status={r.status} />
                {r.error && <div className="error-message small">{r.error}</div>}
              </td>
              <td>{r.trigger}</td>
              <td>{formatTime(r.since)}</td>
              <td className="num">{formatNumber(r.pages)}</td>
              <td className="num">
                {formatNumber(r.seen)}
                {r.totalReported > 0 && <span className="muted"> / {formatNumber(r.totalReported)}</span>}
              </td>
              <td className="num">{formatNumber(r.imported)}</td>
              <td className="num">{formatNumber(r.alreadyPresent)}</td>
              <td className="num">{formatNumber(r.errors)}</td>
              <td className="num">{r.durationMs !== null && r.durationMs !== undefined ? formatSeconds(r.durationMs / 1000) : "—"}</td>
              <td>
                {admin && r.status === "interrupted" && (
                  <button
                    type="button"
                    className="button small"
                    disabled={fetching}
                    onClick={() => {
                      setError(null);
                      void resume({ id: r.id }).then((res) => {
                        if (res.error) setError(apiErrorFromCombined(res.error));
                        else onResumed();
                      });
                    }}
                  >
                    Resume
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
