// A background job (a replay, a re-evaluation…) followed live through the
// jobProgress subscription, with a cancel button while it runs.
import { useState } from "react";
import { apiErrorFromCombined, type ApiError } from "../api/errors";
import { jobEnded, useCancelJob, useJobProgress } from "../api/pipeline";
import type { JobFieldsFragment } from "../gql/graphql";
import { formatNumber } from "../lib/format";
import { ErrorState } from "./States";

export function JobPanel({ job: initial, onDismiss }: { job: JobFieldsFragment; onDismiss: () => void }) {
  const { job: live, error } = useJobProgress(initial);
  const job = live ?? initial;
  const [{ fetching: cancelling }, cancel] = useCancelJob();
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const ended = jobEnded(job);
  const pct = job.total > 0 ? Math.min(100, Math.round((job.done / job.total) * 100)) : null;

  return (
    <section className="job card" aria-labelledby={`job-${job.id}`} data-testid="job">
      <h2 id={`job-${job.id}`}>
        {job.description ?? job.kind} <span className={`badge job-${job.status}`}>{job.status}</span>
      </h2>
      <progress max={job.total || 1} value={job.total ? job.done : ended ? 1 : undefined} aria-label="Progress" />
      <p className="muted" aria-live="polite">
        {formatNumber(job.done)}
        {job.total > 0 && ` of ${formatNumber(job.total)}`} done{pct !== null && ` (${pct} %)`}
        {job.failed > 0 && `, ${formatNumber(job.failed)} failed`}
        {job.stage && ` · ${job.stage}`}
        {job.cancelRequested && !ended && " · stopping…"}
      </p>
      {job.error && <p className="error-message">{job.error}</p>}
      {error && <ErrorState error={error} title="Lost the job's progress" />}
      {cancelError && <ErrorState error={cancelError} title="Could not cancel the job" />}
      <div className="row-actions">
        {!ended && (
          <button
            type="button"
            className="button danger"
            disabled={cancelling || job.cancelRequested}
            onClick={() => {
              setCancelError(null);
              void cancel({ id: job.id }).then((res) => {
                if (res.error) setCancelError(apiErrorFromCombined(res.error));
              });
            }}
          >
            Cancel job
          </button>
        )}
        {ended && (
          <button type="button" className="button ghost" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </section>
  );
}
