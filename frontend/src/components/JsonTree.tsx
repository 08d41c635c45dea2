// A collapsible, pretty-printed JSON view built from native <details>
// elements, so it is keyboard accessible without extra code.

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function Scalar({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="json-null">null</span>;
  if (typeof value === "string") return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span className="json-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="json-boolean">{String(value)}</span>;
  return <span>{JSON.stringify(value)}</span>;
}

function Node({ name, value, depth }: { name: string | null; value: unknown; depth: number }) {
  const label = name === null ? null : <span className="json-key">{JSON.stringify(name)}: </span>;
  if (Array.isArray(value) || isObject(value)) {
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) {
      return (
        <div className="json-line">
          {label}
          {open}
          {close}
        </div>
      );
    }
    return (
      <details className="json-branch" open={depth < 3}>
        <summary>
          {label}
          {open}
          <span className="json-count"> {entries.length} {Array.isArray(value) ? "items" : "keys"} </span>
        </summary>
        <div className="json-children">
          {entries.map(([k, v]) => (
            <Node key={k} name={Array.isArray(value) ? null : k} value={v} depth={depth + 1} />
          ))}
        </div>
        <div className="json-line">{close}</div>
      </details>
    );
  }
  return (
    <div className="json-line">
      {label}
      <Scalar value={value} />
    </div>
  );
}

export function JsonTree({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json-tree" role="group" aria-label={label}>
      <Node name={null} value={value} depth={0} />
    </div>
  );
}
