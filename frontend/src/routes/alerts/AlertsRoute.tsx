// Anomalies & alerts: what the anomaly scan found in the rollups, what the
// alert rules raised, the rules and the channels. Changes arrive live
// through anomalyDetected and alertChanged.
import { useCallback, useEffect, useRef } from "react";
import { useSearchParams } from "react-router";
import { useAlerts, useAlertSetup, useAlertStream } from "../../api/alerts";
import { useAnomalies, useAnomalyStream } from "../../api/anomalies";
import type { AnomalyFieldsFragment } from "../../gql/graphql";
import { anomalyStatusMatches, anomalyWhere, parseAnomalyFilters, writeAnomalyFilters } from "../../lib/anomalies";
import { AnomalyFiltersForm, AnomalyList } from "./AnomalyList";
import { useIsAdmin } from "../../api/sessionContext";
import { ErrorState, Loading } from "../../components/States";
import { formatNumber } from "../../lib/format";
import { alertWhere, AlertList, parseAlertStatus, type AlertStatusFilter } from "./AlertList";
import { Channels } from "./Channels";
import { Rules } from "./Rules";

const statusLabels: Record<AlertStatusFilter, string> = {
  active: "Firing or acknowledged",
  firing: "Firing",
  acknowledged: "Acknowledged",
  resolved: "Resolved",
  all: "All",
};

export function AlertsRoute() {
  const admin = useIsAdmin();
  const [params, setParams] = useSearchParams();
  const status = parseAlertStatus(params.get("status"));
  const alerts = useAlerts(alertWhere(status));
  const setup = useAlertSetup();
  const { reload } = alerts;
  const { refresh } = setup;
  const onChange = useCallback(() => {
    reload();
    refresh();
  }, [reload, refresh]);
  useAlertStream(onChange);

  const anomalyFilters = parseAnomalyFilters(params);
  const anomalies = useAnomalies(anomalyWhere(anomalyFilters));
  // A change to a loaded anomaly updates its row; a new one reloads the list.
  const loaded = useRef(new Set<string>());
  useEffect(() => {
    loaded.current = new Set(anomalies.nodes.map((a) => a.id));
  }, [anomalies.nodes]);
  const { patch: patchAnomaly, drop: dropAnomaly, reload: reloadAnomalies } = anomalies;
  const statusFilter = anomalyFilters.status;
  const onAnomaly = useCallback(
    (a: AnomalyFieldsFragment) => {
      // One that left the statuses shown (resolved, under "open") leaves the list at once.
      if (loaded.current.has(a.id) && !anomalyStatusMatches(statusFilter, a.status)) dropAnomaly((row) => row.id === a.id);
      else if (loaded.current.has(a.id)) patchAnomaly((row) => (row.id === a.id ? a : row));
      else if (anomalyStatusMatches(statusFilter, a.status)) reloadAnomalies();
    },
    [patchAnomaly, dropAnomaly, reloadAnomalies, statusFilter],
  );
  useAnomalyStream(onAnomaly);
  const anomaliesFiltered = anomalyFilters.status !== "active" || anomalyFilters.severity !== "" || anomalyFilters.type !== "";

  return (
    <div className="alerts-page">
      <section aria-labelledby="anomalies-title" data-testid="anomalies">
        <div className="section-head">
          <h2 id="anomalies-title">
            Anomalies{anomalies.totalCount !== null && <span className="muted"> ({formatNumber(anomalies.totalCount)})</span>}
          </h2>
        </div>
        <AnomalyFiltersForm filters={anomalyFilters} onChange={(f) => setParams((p) => writeAnomalyFilters(p, f))} />
        <AnomalyList pages={anomalies} admin={admin} filtered={anomaliesFiltered} />
      </section>
      <section aria-labelledby="alerts-title">
        <div className="section-head">
          <h2 id="alerts-title">
            Alerts{alerts.totalCount !== null && <span className="muted"> ({formatNumber(alerts.totalCount)})</span>}
          </h2>
          <div className="field inline">
            <label htmlFor="a-status">Show</label>
            <select
              id="a-status"
              value={status}
              onChange={(e) =>
                setParams((p) => {
                  const n = new URLSearchParams(p);
                  const v = parseAlertStatus(e.target.value);
                  if (v === "active") n.delete("status");
                  else n.set("status", v);
                  return n;
                })
              }
            >
              {(Object.keys(statusLabels) as AlertStatusFilter[]).map((s) => (
                <option key={s} value={s}>
                  {statusLabels[s]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <AlertList pages={alerts} admin={admin} />
      </section>
      {setup.error ? (
        <ErrorState error={setup.error} title="Could not load rules and channels" onRetry={refresh} />
      ) : !setup.loaded ? (
        <Loading label="Loading rules…" />
      ) : (
        <>
          <Rules rules={setup.rules} conditions={setup.conditions} channels={setup.channels} admin={admin} onChanged={refresh} />
          <Channels channels={setup.channels} admin={admin} onChanged={refresh} />
        </>
      )}
    </div>
  );
}
