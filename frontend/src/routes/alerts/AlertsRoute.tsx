// Alerts: what is firing now and what fired before, the rules and the
// channels. Changes arrive live through alertChanged.
import { useCallback } from "react";
import { useSearchParams } from "react-router";
import { useAlerts, useAlertSetup, useAlertStream } from "../../api/alerts";
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

  return (
    <div className="alerts-page">
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
