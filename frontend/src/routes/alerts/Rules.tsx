// Alert rules: what each watches, its threshold and timings, its channels.
// Admins create custom rules, enable or disable any, restore built-ins and
// delete custom ones.
import { formatThreshold } from "../../lib/links";
import { useState } from "react";
import { useCreateAlertRule, useDeleteAlertRule, useRestoreAlertRule, useSetAlertRuleEnabled } from "../../api/alerts";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { ErrorState } from "../../components/States";
import type { AlertChannelFieldsFragment, AlertRuleCondition, AlertRuleFieldsFragment, AlertRuleSeverity, AlertSetupQuery } from "../../gql/graphql";
import { formatTime } from "../../lib/format";

type Condition = AlertSetupQuery["alertConditions"][number];

function RuleForm({ conditions, channels, onCreated }: { conditions: Condition[]; channels: AlertChannelFieldsFragment[]; onCreated: () => void }) {
  const [{ fetching }, create] = useCreateAlertRule();
  const [error, setError] = useState<ApiError | null>(null);
  const [conditionName, setConditionName] = useState(conditions[0]?.name ?? "");
  const condition = conditions.find((c) => c.name === conditionName);
  return (
    <form
      className="card inline-form rule-form"
      aria-label="New alert rule"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const data = new FormData(form);
        const text = (k: string) => {
          const v = data.get(k);
          return typeof v === "string" ? v.trim() : "";
        };
        const threshold = text("threshold");
        setError(null);
        void create({
          input: {
            key: text("key"),
            name: text("name"),
            condition: conditionName as AlertRuleCondition,
            threshold: threshold === "" ? null : Number(threshold),
            window: text("window") || null,
            for: text("for") || null,
            renotify: text("renotify") || null,
            severity: (text("severity") || "warning") as AlertRuleSeverity,
            channelIDs: data.getAll("channel").filter((v): v is string => typeof v === "string"),
          },
        }).then((r) => {
          if (r.error) setError(apiErrorFromCombined(r.error));
          else {
            form.reset();
            onCreated();
          }
        });
      }}
    >
      <h3 className="full">New rule</h3>
      <div className="field">
        <label htmlFor="ar-key">Key</label>
        <input id="ar-key" name="key" required pattern="[a-z0-9_]+" placeholder="slow_processing" />
      </div>
      <div className="field">
        <label htmlFor="ar-name">Name</label>
        <input id="ar-name" name="name" required />
      </div>
      <div className="field">
        <label htmlFor="ar-condition">Condition</label>
        <select id="ar-condition" value={conditionName} onChange={(e) => setConditionName(e.target.value)}>
          {conditions.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name.replaceAll("_", " ")}
            </option>
          ))}
        </select>
      </div>
      {condition?.usesThreshold && (
        <div className="field">
          <label htmlFor="ar-threshold">
            Threshold ({condition.unit}, {condition.below ? "fires below" : "fires at or above"})
          </label>
          <input id="ar-threshold" name="threshold" type="number" step="any" />
        </div>
      )}
      {condition?.window && (
        <div className="field">
          <label htmlFor="ar-window">Window</label>
          <input id="ar-window" name="window" placeholder="10m" title={condition.window} />
        </div>
      )}
      <div className="field">
        <label htmlFor="ar-for">For (debounce)</label>
        <input id="ar-for" name="for" placeholder="5m" />
      </div>
      <div className="field">
        <label htmlFor="ar-renotify">Renotify every</label>
        <input id="ar-renotify" name="renotify" placeholder="1h" />
      </div>
      <div className="field">
        <label htmlFor="ar-severity">Severity</label>
        <select id="ar-severity" name="severity" defaultValue="warning">
          <option value="info">info</option>
          <option value="warning">warning</option>
          <option value="critical">critical</option>
        </select>
      </div>
      <fieldset className="field channels-field">
        <legend>Channels</legend>
        {channels.map((c) => (
          <label key={c.id} className="check">
            <input type="checkbox" name="channel" value={c.id} /> {c.name}
          </label>
        ))}
      </fieldset>
      {condition && <p className="muted small full">{condition.description} Empty settings take the built-in rule&apos;s defaults.</p>}
      <div className="field actions">
        <button type="submit" className="button primary" disabled={fetching}>
          Create rule
        </button>
      </div>
      {error && (
        <div className="full">
          <ErrorState error={error} title="Could not create the rule" />
        </div>
      )}
    </form>
  );
}

export function Rules({
  rules,
  conditions,
  channels,
  admin,
  onChanged,
}: {
  rules: AlertRuleFieldsFragment[];
  conditions: Condition[];
  channels: AlertChannelFieldsFragment[];
  admin: boolean;
  onChanged: () => void;
}) {
  const [, setEnabled] = useSetAlertRuleEnabled();
  const [, remove] = useDeleteAlertRule();
  const [, restore] = useRestoreAlertRule();
  const [error, setError] = useState<ApiError | null>(null);
  const [creating, setCreating] = useState(false);
  const run = (p: Promise<{ error?: Parameters<typeof apiErrorFromCombined>[0] }>) => {
    setError(null);
    void p.then((r) => {
      if (r.error) setError(apiErrorFromCombined(r.error));
      onChanged();
    });
  };
  return (
    <section aria-labelledby="rules-title" data-testid="alert-rules">
      <div className="section-head">
        <h2 id="rules-title">Rules</h2>
        {admin && (
          <button type="button" className="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
            New rule
          </button>
        )}
      </div>
      {creating && <RuleForm conditions={conditions} channels={channels} onCreated={onChanged} />}
      {error && <ErrorState error={error} title="Could not change the rule" />}
      <div className="table-wrap">
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Condition</th>
              <th scope="col">Threshold</th>
              <th scope="col">Window</th>
              <th scope="col">For</th>
              <th scope="col">Renotify</th>
              <th scope="col">Severity</th>
              <th scope="col">Channels</th>
              <th scope="col">State</th>
              {admin && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} data-testid="alert-rule">
                <th scope="row">
                  {r.name}
                  <div className="muted small">
                    {r.key}
                    {r.builtin ? " · built-in" : ""}
                  </div>
                </th>
                <td>{r.condition.replaceAll("_", " ")}</td>
                <td className="num">
                  {conditions.find((c) => c.name === r.condition)?.usesThreshold === false
                    ? "—"
                    : formatThreshold(conditions.find((c) => c.name === r.condition)?.unit, r.threshold)}
                </td>
                <td>{r.window}</td>
                <td>{r.for}</td>
                <td>{r.renotify}</td>
                <td>
                  <span className={`badge severity-${r.severity}`}>{r.severity}</span>
                </td>
                <td>{(r.channels ?? []).map((c) => c.name).join(", ") || "—"}</td>
                <td>
                  {r.enabled ? "enabled" : <span className="muted">disabled</span>}
                  {r.pendingSince && <div className="muted small">holding since {formatTime(r.pendingSince)}</div>}
                </td>
                {admin && (
                  <td className="row-actions">
                    <button type="button" className="button small" onClick={() => run(setEnabled({ id: r.id, enabled: !r.enabled }))}>
                      {r.enabled ? "Disable" : "Enable"}
                    </button>
                    {r.builtin ? (
                      <button type="button" className="button small ghost" onClick={() => run(restore({ id: r.id }))}>
                        Restore
                      </button>
                    ) : (
                      <button type="button" className="button small danger" onClick={() => run(remove({ id: r.id }))}>
                        Delete
                      </button>
                    )}
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
