// Reconciliation: is the feed complete and healthy? The health score and
// its parts, Dwolla's status, runs (followed live) and their findings.
import { useCallback, useState } from "react";
import { useSearchParams } from "react-router";
import { useFindings, useReconciliationOverview, useRunProgress } from "../../api/reconcile";
import { useIsAdmin } from "../../api/sessionContext";
import { ErrorState, Loading } from "../../components/States";
import { DwollaPanel } from "./DwollaPanel";
import { findingWhere, Findings, parseFindingFilters, writeFindingFilters, type FindingFilters } from "./Findings";
import { HealthPanel } from "./HealthPanel";
import { ReconActions, ReconRunsTable, SyncRunsTable } from "./Runs";

export function ReconciliationRoute() {
  const admin = useIsAdmin();
  const [params, setParams] = useSearchParams();
  const overview = useReconciliationOverview();
  const filters = parseFindingFilters(params);
  const findings = useFindings(findingWhere(filters));
  const [running, setRunning] = useState(false);

  const { refresh } = overview;
  const { reload } = findings;
  const onChange = useCallback(() => {
    setRunning(true);
    refresh();
  }, [refresh]);
  const onEnded = useCallback(() => {
    setRunning(false);
    refresh();
    reload();
  }, [refresh, reload]);
  useRunProgress(onChange, onEnded);

  const setFilters = (f: FindingFilters) => setParams((p) => writeFindingFilters(p, f));
  const data = overview.data;
  if (overview.error && !data) return <ErrorState error={overview.error} title="Could not load reconciliation" onRetry={refresh} />;
  if (!data) return <Loading label="Loading reconciliation…" />;

  const runs = (data.reconciliationRuns.edges ?? []).flatMap((e) => (e?.node ? [e.node] : []));
  const syncs = (data.syncRuns.edges ?? []).flatMap((e) => (e?.node ? [e.node] : []));
  return (
    <div className="reconciliation-page">
      {running && (
        <p className="notice" role="status">
          A run is in progress; this page follows it.
        </p>
      )}
      <div className="two-col">
        <HealthPanel health={data.health} />
        <DwollaPanel status={data.dwollaStatus} />
      </div>
      {admin && <ReconActions configured={data.dwollaStatus.configured} onStarted={onChange} />}
      <Findings filters={filters} onFilters={setFilters} pages={findings} admin={admin} />
      <h2>Reconciliation runs</h2>
      <ReconRunsTable runs={runs} total={data.reconciliationRuns.totalCount} />
      <h2>Sync runs</h2>
      <SyncRunsTable runs={syncs} total={data.syncRuns.totalCount} admin={admin} onResumed={onChange} />
    </div>
  );
}
