// Settings → API tokens (admin): list, create (the token is shown once),
// revoke after confirmation.
import { useState } from "react";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useIsAdmin, useSession } from "../../api/sessionContext";
import { useAPITokens, useCreateAPIToken, useRevokeAPIToken } from "../../api/tokens";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CopyButton } from "../../components/CopyButton";
import { SettingsTabs } from "../../components/SettingsTabs";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { APITokenRole, APITokensQuery } from "../../gql/graphql";
import { formatRelative, formatTime } from "../../lib/format";

type Token = APITokensQuery["apiTokens"][number];

export function tokenStatus(t: Pick<Token, "revokedAt" | "expiresAt">, now: Date): "active" | "revoked" | "expired" {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= now.getTime()) return "expired";
  return "active";
}

function CreateTokenForm({ onCreated }: { onCreated: () => void }) {
  const [{ fetching }, create] = useCreateAPIToken();
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);

  return (
    <section className="card" aria-labelledby="create-token">
      <h2 id="create-token">Create a token</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const data = new FormData(form);
          const rawName = data.get("name");
          const name = typeof rawName === "string" ? rawName.trim() : "";
          const role = (data.get("role") === "admin" ? "admin" : "viewer") satisfies APITokenRole;
          const days = Number(data.get("expires") ?? 0);
          const expiresAt = days > 0 ? new Date(Date.now() + days * 86400_000).toISOString() : null;
          setError(null);
          void create({ input: { name, role, expiresAt } }).then((res) => {
            if (res.error) {
              setError(apiErrorFromCombined(res.error));
              return;
            }
            if (res.data) {
              setCreated({ token: res.data.createAPIToken.token, name: res.data.createAPIToken.apiToken.name });
              form.reset();
              onCreated();
            }
          });
        }}
      >
        <div className="field">
          <label htmlFor="t-name">Name</label>
          <input id="t-name" name="name" required maxLength={100} placeholder="grafana" autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="t-role">Role</label>
          <select id="t-role" name="role" defaultValue="viewer">
            <option value="viewer">viewer (read only)</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="t-expires">Expires</label>
          <select id="t-expires" name="expires" defaultValue="0">
            <option value="0">never</option>
            <option value="7">in 7 days</option>
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
          </select>
        </div>
        <div className="field actions">
          <button type="submit" className="button primary" disabled={fetching}>
            {fetching ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
      {error && <ErrorState error={error} title="Could not create the token" />}
      {created && (
        <div className="notice success" role="status" data-testid="new-token">
          <p>
            Token <strong>{created.name}</strong> created. Copy it now: hooklens keeps only its hash and will not show it again.
          </p>
          <p className="token-once">
            <code data-testid="new-token-value">{created.token}</code> <CopyButton text={created.token} label="Copy token" />
          </p>
          <button type="button" className="button ghost" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
    </section>
  );
}

function TokenTable({ tokens, current, onRevoke }: { tokens: Token[]; current: string; onRevoke: (t: Token) => void }) {
  const now = new Date();
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="token-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => {
            const status = tokenStatus(t, now);
            return (
              <tr key={t.id} data-testid="token-row">
                <td>
                  {t.name}
                  {t.name === current && <span className="badge">you</span>}
                </td>
                <td>
                  <span className={`badge role-${t.role}`}>{t.role}</span>
                </td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td title={formatTime(t.createdAt)}>{formatRelative(t.createdAt, now)}</td>
                <td title={t.lastUsedAt ? formatTime(t.lastUsedAt) : undefined}>{t.lastUsedAt ? formatRelative(t.lastUsedAt, now) : "never"}</td>
                <td>{t.expiresAt ? formatTime(t.expiresAt) : "never"}</td>
                <td>
                  <span className={`badge token-${status}`}>{status}</span>
                </td>
                <td>
                  {status === "active" && (
                    <button type="button" className="button danger small" onClick={() => onRevoke(t)}>
                      Revoke<span className="visually-hidden"> {t.name}</span>
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function TokensRoute() {
  const admin = useIsAdmin();
  if (!admin) {
    return <EmptyState title="Only admins manage API tokens.">Your token has the viewer role: you can read everything, but change nothing.</EmptyState>;
  }
  return (
    <>
      <SettingsTabs />
      <AdminTokens />
    </>
  );
}

function AdminTokens() {
  const session = useSession();
  const { tokens, fetching, loaded, error, refresh } = useAPITokens();
  const [{ fetching: revoking }, revoke] = useRevokeAPIToken();
  const [confirming, setConfirming] = useState<Token | null>(null);
  const [revokeError, setRevokeError] = useState<ApiError | null>(null);

  return (
    <div className="settings-page">
      <p className="muted">
        Tokens authenticate the API (<code>Authorization: Bearer …</code>) and sign in to this dashboard. Viewers can read; admins can also
        change things. Revoking a token ends its dashboard sessions too.
      </p>
      <CreateTokenForm onCreated={refresh} />
      <section aria-labelledby="token-list">
        <h2 id="token-list">Tokens</h2>
        {revokeError && <ErrorState error={revokeError} title="Could not revoke the token" />}
        {error ? (
          <ErrorState error={error} title="Could not load the tokens" onRetry={refresh} />
        ) : !loaded && fetching ? (
          <Loading label="Loading tokens…" />
        ) : tokens.length === 0 ? (
          <EmptyState title="No tokens yet." />
        ) : (
          <TokenTable tokens={tokens} current={session.name} onRevoke={setConfirming} />
        )}
      </section>
      {confirming && (
        <ConfirmDialog
          title={`Revoke “${confirming.name}”?`}
          confirmLabel="Revoke token"
          busy={revoking}
          onCancel={() => setConfirming(null)}
          onConfirm={() => {
            setRevokeError(null);
            void revoke({ id: confirming.id }).then((res) => {
              if (res.error) setRevokeError(apiErrorFromCombined(res.error));
              setConfirming(null);
              refresh();
            });
          }}
        >
          <p>
            Anything using this token ({confirming.role}, <code>{confirming.prefix}…</code>) stops working at once, and its dashboard sessions
            end. This cannot be undone.
          </p>
          {confirming.name === session.name && <p className="form-error">This is the token you are signed in with: you will be signed out.</p>}
        </ConfirmDialog>
      )}
    </div>
  );
}
