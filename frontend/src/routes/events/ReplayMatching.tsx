// Admins can send every event matching the current filters back through
// the pipeline, as a background job they can watch and cancel.
import { useState } from "react";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useReplayEvents } from "../../api/pipeline";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { JobPanel } from "../../components/JobPanel";
import { ErrorState } from "../../components/States";
import type { JobFieldsFragment, WebhookEventWhereInput } from "../../gql/graphql";
import { formatNumber } from "../../lib/format";

export function ReplayMatching({ where, count, onDone }: { where: WebhookEventWhereInput | null; count: number | null; onDone: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [job, setJob] = useState<JobFieldsFragment | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching }, replay] = useReplayEvents();

  return (
    <>
      <button type="button" className="button" disabled={!where || !count} onClick={() => setConfirming(true)} data-testid="replay-matching">
        Replay {count ? formatNumber(count) : ""} matching…
      </button>
      {confirming && where && (
        <ConfirmDialog
          title={`Replay ${formatNumber(count ?? 0)} event${count === 1 ? "" : "s"}?`}
          confirmLabel="Replay"
          busy={fetching}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setError(null);
            void replay({ where }).then((res) => {
              setConfirming(false);
              if (res.error) setError(apiErrorFromCombined(res.error));
              else if (res.data) setJob(res.data.replayEvents);
            });
          }}
        >
          <p>
            Every event matching the current filters and time range goes back through the pipeline: journeys are recomputed, counts are not
            doubled. It runs in the background; you can cancel it.
          </p>
        </ConfirmDialog>
      )}
      {error && <ErrorState error={error} title="Could not start the replay" />}
      {job && (
        <JobPanel
          job={job}
          onDismiss={() => {
            setJob(null);
            onDone();
          }}
        />
      )}
    </>
  );
}
