// Where alerts are sent: outgoing webhooks (generic JSON, optionally
// signed), Slack-compatible webhooks, and the log. URLs and secrets are
// write-only: the server shows only the scheme and host.
import { useState } from "react";
import { useCreateAlertChannel, useDeleteAlertChannel, useSetAlertChannelEnabled, useTestAlertChannel } from "../../api/alerts";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { ErrorState } from "../../components/States";
import type { AlertChannelFieldsFragment, AlertChannelKind } from "../../gql/graphql";
import { formatMs, formatTime } from "../../lib/format";

function ChannelForm({ onCreated }: { onCreated: () => void }) {
  const [{ fetching }, create] = useCreateAlertChannel();
  const [error, setError] = useState<ApiError | null>(null);
  const [kind, setKind] = useState<AlertChannelKind>("webhook");
  return (
    <form
      className="card inline-form"
      aria-label="New channel"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const data = new FormData(form);
        const text = (k: string) => {
          const v = data.get(k);
          return typeof v === "string" ? v.trim() : "";
        };
        setError(null);
        void create({ input: { name: text("name"), kind, url: text("url") || null, secret: text("secret") || null } }).then((r) => {
          if (r.error) setError(apiErrorFromCombined(r.error));
          else {
            form.reset();
            onCreated();
          }
        });
      }}
    >
      <div className="field">
        <label htmlFor="ac-name">Name</label>
        <input id="ac-name" name="name" required />
      </div>
      <div className="field">
        <label htmlFor="ac-kind">Kind</label>
        <select id="ac-kind" value={kind} onChange={(e) => setKind(e.target.value as AlertChannelKind)}>
          <option value="webhook">webhook (JSON)</option>
          <option value="slack">Slack-compatible webhook</option>
          <option value="log">log</option>
        </select>
      </div>
      {kind !== "log" && (
        <div className="field grow">
          <label htmlFor="ac-url">URL (stored encrypted, not shown again)</label>
          <input id="ac-url" name="url" type="url" required autoComplete="off" />
        </div>
      )}
      {kind === "webhook" && (
        <div className="field">
          <label htmlFor="ac-secret">Signing secret (optional)</label>
          <input id="ac-secret" name="secret" type="password" autoComplete="off" />
        </div>
      )}
      <div className="field actions">
        <button type="submit" className="button primary" disabled={fetching}>
          Create channel
        </button>
      </div>
      {error && (
        <div className="full">
          <ErrorState error={error} title="Could not create the channel" />
        </div>
      )}
    </form>
  );
}

export function Channels({ channels, admin, onChanged }: { channels: AlertChannelFieldsFragment[]; admin: boolean; onChanged: () => void }) {
  const [, setEnabled] = useSetAlertChannelEnabled();
  const [, remove] = useDeleteAlertChannel();
  const [{ fetching: testing }, test] = useTestAlertChannel();
  const [error, setError] = useState<ApiError | null>(null);
  const [tested, setTested] = useState<{ id: string; text: string } | null>(null);
  const [creating, setCreating] = useState(false);
  const run = (p: Promise<{ error?: Parameters<typeof apiErrorFromCombined>[0] }>) => {
    setError(null);
    void p.then((r) => {
      if (r.error) setError(apiErrorFromCombined(r.error));
      onChanged();
    });
  };
  return (
    <section aria-labelledby="channels-title" data-testid="alert-channels">
      <div className="section-head">
        <h2 id="channels-title">Channels</h2>
        {admin && (
          <button type="button" className="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
            New channel
          </button>
        )}
      </div>
      {creating && <ChannelForm onCreated={onChanged} />}
      {error && <ErrorState error={error} title="Could not change the channel" />}
      <div className="table-wrap">
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Kind</th>
              <th scope="col">Sends to</th>
              <th scope="col">Last success</th>
              <th scope="col">Last failure</th>
              <th scope="col">State</th>
              {admin && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <tr key={c.id} data-testid="alert-channel">
                <th scope="row">{c.name}</th>
                <td>
                  {c.kind}
                  {c.signed && <span className="badge">signed</span>}
                </td>
                <td>
                  <code>{c.urlHint ?? "—"}</code>
                </td>
                <td>{formatTime(c.lastSuccessAt)}</td>
                <td>
                  {formatTime(c.lastFailureAt)}
                  {c.lastError && <div className="error-message small">{c.lastError}</div>}
                </td>
                <td>
                  {c.enabled ? "enabled" : <span className="muted">disabled</span>}
                  {tested?.id === c.id && (
                    <div className="small" role="status" data-testid="channel-test">
                      {tested.text}
                    </div>
                  )}
                </td>
                {admin && (
                  <td className="row-actions">
                    <button
                      type="button"
                      className="button small"
                      disabled={testing}
                      onClick={() => {
                        setError(null);
                        void test({ id: c.id }).then((r) => {
                          if (r.error) setError(apiErrorFromCombined(r.error));
                          else if (r.data) {
                            const d = r.data.testAlertChannel;
                            setTested({ id: c.id, text: d.ok ? `Test sent in ${formatMs(d.durationMs)}` : `Test failed: ${d.error ?? "?"}` });
                          }
                          onChanged();
                        });
                      }}
                    >
                      Test
                    </button>
                    <button type="button" className="button small" onClick={() => run(setEnabled({ id: c.id, enabled: !c.enabled }))}>
                      {c.enabled ? "Disable" : "Enable"}
                    </button>
                    <button type="button" className="button small danger" onClick={() => run(remove({ id: c.id }))}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
