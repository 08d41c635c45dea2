// Admins edit a definition as JSON (the shape of JourneyDefinitionInput,
// which is also the definition's `spec`), check it with the server's
// validator, then save it.
import { useState } from "react";
import { useClient } from "urql";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useCreateJourneyDefinition, useUpdateJourneyDefinition, ValidateJourneyDefinitionQuery } from "../../api/journeys";
import { ErrorState } from "../../components/States";
import type { JourneyDefinitionInput } from "../../gql/graphql";

/** The editable part of a spec: everything but the server-kept version. */
export function specToInputText(spec: Record<string, unknown>): string {
  const rest = Object.fromEntries(Object.entries(spec).filter(([k]) => k !== "version"));
  return JSON.stringify(rest, null, 2);
}

/** Parses the editor's text; the server checks the details. */
export function parseDefinitionInput(text: string): { input: JourneyDefinitionInput } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "The definition must be a JSON object." };
  const obj = value as Record<string, unknown>;
  for (const k of ["key", "name", "abandonAfter"]) {
    if (typeof obj[k] !== "string" || obj[k] === "") return { error: `"${k}" must be a non-empty string.` };
  }
  if (!Array.isArray(obj.steps)) return { error: '"steps" must be a list.' };
  return { input: obj as unknown as JourneyDefinitionInput };
}

export const newDefinitionTemplate = JSON.stringify(
  {
    key: "my_journey",
    name: "My journey",
    description: "What it tracks.",
    enabled: true,
    correlation: { by: "resource", resourceTypes: ["transfer"] },
    start: { anyTopic: true },
    steps: [
      { key: "created", name: "Created", topics: ["transfer_created"] },
      { key: "completed", name: "Completed", topics: ["transfer_completed"], within: "7d" },
    ],
    successTopics: ["transfer_completed"],
    failureTopics: ["transfer_failed"],
    abandonAfter: "30d",
  },
  null,
  2,
);

interface Check {
  valid: boolean;
  errors: string[];
  warnings: string[];
}

export function DefinitionEditor({ initial, mode, onSaved, onCancel }: { initial: string; mode: "create" | "update"; onSaved: () => void; onCancel: () => void }) {
  const client = useClient();
  const [text, setText] = useState(initial);
  const [problem, setProblem] = useState<string | null>(null);
  const [check, setCheck] = useState<Check | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string[] | null>(null);
  const [{ fetching: creating }, create] = useCreateJourneyDefinition();
  const [{ fetching: updating }, update] = useUpdateJourneyDefinition();

  const parsed = () => {
    setProblem(null);
    setError(null);
    const p = parseDefinitionInput(text);
    if ("error" in p) {
      setProblem(p.error);
      return null;
    }
    return p.input;
  };

  const validate = () => {
    const input = parsed();
    if (!input) return;
    void client
      .query(ValidateJourneyDefinitionQuery, { input }, { requestPolicy: "network-only" })
      .toPromise()
      .then((r) => {
        if (r.error) setError(apiErrorFromCombined(r.error));
        else if (r.data) setCheck(r.data.validateJourneyDefinition);
      });
  };

  const save = () => {
    const input = parsed();
    if (!input) return;
    const run = mode === "create" ? create({ input }).then((r) => ({ error: r.error, warnings: r.data?.createJourneyDefinition.warnings })) : update({ input }).then((r) => ({ error: r.error, warnings: r.data?.updateJourneyDefinition.warnings }));
    void run.then((r) => {
      if (r.error) setError(apiErrorFromCombined(r.error));
      else {
        setSaved(r.warnings ?? []);
        onSaved();
      }
    });
  };

  return (
    <div className="definition-editor" data-testid="definition-editor">
      <label htmlFor="def-json">Definition (JSON)</label>
      <textarea
        id="def-json"
        className="code-input"
        value={text}
        spellCheck={false}
        rows={Math.min(40, text.split("\n").length + 2)}
        onChange={(e) => {
          setText(e.target.value);
          setCheck(null);
          setSaved(null);
        }}
      />
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
      {check && (
        <div className={`notice ${check.valid ? "success" : "warn-notice"}`} role="status">
          {check.valid ? "Valid." : "Not valid:"}
          {check.errors.length > 0 && (
            <ul>
              {check.errors.map((e) => (
                <li key={e}>{e}</li>
              ))}
            </ul>
          )}
          {check.warnings.length > 0 && (
            <>
              Warnings:
              <ul>
                {check.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {saved && (
        <p className="notice success" role="status">
          Saved.{saved.length > 0 && ` Warnings: ${saved.join("; ")}`}
          {mode === "update" && " Existing journeys keep their state until they are re-evaluated."}
        </p>
      )}
      {error && <ErrorState error={error} title="The server refused the definition" />}
      <div className="row-actions">
        <button type="button" className="button" onClick={validate}>
          Validate
        </button>
        <button type="button" className="button primary" onClick={save} disabled={creating || updating}>
          {mode === "create" ? "Create definition" : "Save definition"}
        </button>
        <button type="button" className="button ghost" onClick={onCancel}>
          Close
        </button>
      </div>
    </div>
  );
}
