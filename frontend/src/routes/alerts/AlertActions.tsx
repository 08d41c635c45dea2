// Admins acknowledge a firing alert (it stops re-notifying) or resolve it
// with a note. Used by the list and by an alert's own page.
import { useState } from "react";
import { useAcknowledgeAlert, useResolveAlert } from "../../api/alerts";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorState } from "../../components/States";
import type { AlertFieldsFragment } from "../../gql/graphql";

export function AlertActions({ alert, onChanged }: { alert: AlertFieldsFragment; onChanged: () => void }) {
  const [resolving, setResolving] = useState(false);
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching: acknowledging }, acknowledge] = useAcknowledgeAlert();
  const [{ fetching: resolvingBusy }, resolve] = useResolveAlert();
  return (
    <>
      {alert.status === "firing" && (
        <button
          type="button"
          className="button small"
          disabled={acknowledging}
          onClick={() => {
            setError(null);
            void acknowledge({ id: alert.id }).then((r) => {
              if (r.error) setError(apiErrorFromCombined(r.error));
              else onChanged();
            });
          }}
        >
          Acknowledge
        </button>
      )}
      {alert.status !== "resolved" && (
        <button type="button" className="button small" onClick={() => setResolving(true)}>
          Resolve
        </button>
      )}
      {error && <ErrorState error={error} title="Could not change the alert" />}
      {resolving && (
        <ConfirmDialog
          title={`Resolve “${alert.title}”?`}
          confirmLabel="Resolve"
          busy={resolvingBusy || note.trim() === ""}
          onCancel={() => {
            setResolving(false);
            setNote("");
          }}
          onConfirm={() => {
            setError(null);
            void resolve({ id: alert.id, note: note.trim() }).then((r) => {
              if (r.error) setError(apiErrorFromCombined(r.error));
              setResolving(false);
              setNote("");
              onChanged();
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
