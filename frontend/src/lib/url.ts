/** A "?…" search string: params with key set to value (or removed when value is null). */
export function withParam(params: URLSearchParams, key: string, value: string | null): string {
  const next = new URLSearchParams(params);
  if (value === null) next.delete(key);
  else next.set(key, value);
  const s = next.toString();
  return s ? `?${s}` : "?";
}
