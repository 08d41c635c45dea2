// Journey definitions: what each journey tracks (correlation, steps with
// their topics and time limits, outcomes). Admins can enable or disable a
// definition and restore a customised built-in.
import { useState } from "react";
import { Link } from "react-router";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useJourneyDefinitions, useRestoreJourneyDefinition, useSetJourneyDefinitionEnabled } from "../../api/journeys";
import { useIsAdmin } from "../../api/sessionContext";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { DefinitionEditor, newDefinitionTemplate, specToInputText } from "./DefinitionEditor";
import type { JourneyDefinitionsQuery } from "../../gql/graphql";

type Definition = JourneyDefinitionsQuery["journeyDefinitions"][number];

function Topics({ topics }: { topics: readonly string[] }) {
  if (topics.length === 0) return <span className="muted">—</span>;
  return (
    <span className="topic-list">
      {topics.map((t) => (
        <code key={t}>{t}</code>
      ))}
    </span>
  );
}

function DefinitionCard({ d, admin, onChanged }: { d: Definition; admin: boolean; onChanged: () => void }) {
  const [{ fetching: toggling }, setEnabled] = useSetJourneyDefinitionEnabled();
  const [{ fetching: restoring }, restore] = useRestoreJourneyDefinition();
  const [error, setError] = useState<ApiError | null>(null);
  const [confirmRestore, setConfirmRestore] = useState(false);
  const [editing, setEditing] = useState(false);
  return (
    <section className="card definition" aria-labelledby={`def-${d.key}`} data-testid="definition">
      <header className="definition-head">
        <h2 id={`def-${d.key}`}>
          <Link to={`/journeys?definition=${d.key}`}>{d.name}</Link>{" "}
          <span className={`badge ${d.enabled ? "token-active" : ""}`}>{d.enabled ? "enabled" : "disabled"}</span>
          {d.builtin && <span className="badge">built-in{d.customized ? ", customised" : ""}</span>}
          <span className="muted small"> {d.key} · v{d.version}</span>
        </h2>
        {admin && (
          <div className="row-actions">
            <button
              type="button"
              className="button"
              disabled={toggling}
              onClick={() => {
                setError(null);
                void setEnabled({ key: d.key, enabled: !d.enabled }).then((r) => {
                  if (r.error) setError(apiErrorFromCombined(r.error));
                  else onChanged();
                });
              }}
            >
              {d.enabled ? "Disable" : "Enable"}
            </button>
            <button type="button" className="button" onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
              Edit
            </button>
            {d.builtin && d.customized && (
              <button type="button" className="button" onClick={() => setConfirmRestore(true)}>
                Restore as shipped
              </button>
            )}
          </div>
        )}
      </header>
      {d.description && <p>{d.description}</p>}
      {error && <ErrorState error={error} title="Could not change the definition" />}
      {editing && <DefinitionEditor initial={specToInputText(d.spec)} mode="update" onSaved={onChanged} onCancel={() => setEditing(false)} />}
      <dl className="fields">
        <dt>Correlated by</dt>
        <dd>
          {d.correlation.by}
          {d.correlation.resourceTypes.length > 0 && <span className="muted"> ({d.correlation.resourceTypes.join(", ")})</span>}
        </dd>
        <dt>Starts on</dt>
        <dd>{d.start.anyTopic ? "any of its topics" : <Topics topics={d.start.topics} />}</dd>
        <dt>Succeeds on</dt>
        <dd>
          <Topics topics={d.successTopics} />
          {!d.successIsFinal && <span className="muted"> (may still fail later)</span>}
        </dd>
        <dt>Fails on</dt>
        <dd>
          <Topics topics={d.failureTopics} />
        </dd>
        <dt>Abandoned after</dt>
        <dd>{d.abandonAfter} idle</dd>
      </dl>
      <table className="data-table compact">
        <caption className="muted">Steps</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Topics</th>
            <th scope="col">Within</th>
          </tr>
        </thead>
        <tbody>
          {d.steps.map((s) => (
            <tr key={s.key}>
              <th scope="row">
                {s.name}
                {s.optional && <span className="badge">optional</span>}
                {s.repeatable && <span className="badge">repeatable</span>}
              </th>
              <td>
                <Topics topics={s.topics} />
              </td>
              <td>{s.within ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {confirmRestore && (
        <ConfirmDialog
          title={`Restore “${d.name}” as shipped?`}
          confirmLabel="Restore"
          busy={restoring}
          onCancel={() => setConfirmRestore(false)}
          onConfirm={() => {
            void restore({ key: d.key }).then((r) => {
              setConfirmRestore(false);
              if (r.error) setError(apiErrorFromCombined(r.error));
              else onChanged();
            });
          }}
        >
          <p>Your changes to this built-in definition are replaced by the version hooklens ships.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

export function DefinitionsRoute() {
  const admin = useIsAdmin();
  const { definitions, loaded, fetching, error, refresh } = useJourneyDefinitions();
  const [creating, setCreating] = useState(false);
  if (error) return <ErrorState error={error} title="Could not load the journey definitions" onRetry={refresh} />;
  if (!loaded && fetching) return <Loading label="Loading definitions…" />;
  if (definitions.length === 0) return <EmptyState title="No journey definitions." />;
  return (
    <div className="definitions-page">
      <p className="row-actions">
        <Link to="/journeys">← Journeys</Link>
        {admin && !creating && (
          <button type="button" className="button" onClick={() => setCreating(true)}>
            New definition
          </button>
        )}
      </p>
      {creating && (
        <section className="card" aria-label="New definition">
          <h2>New definition</h2>
          <DefinitionEditor initial={newDefinitionTemplate} mode="create" onSaved={refresh} onCancel={() => setCreating(false)} />
        </section>
      )}
      {definitions.map((d) => (
        <DefinitionCard key={d.key} d={d} admin={admin} onChanged={refresh} />
      ))}
    </div>
  );
}
