// The dashboard session: a sign-in exchanges an API token for an HttpOnly
// cookie and a CSRF token (see README "Authentication").
import { readCookie } from "../lib/cookies";
import { apiErrorFromResponse } from "./errors";

export type Role = "admin" | "viewer";

export interface Session {
  name: string;
  role: Role;
  csrfToken: string;
  expiresAt?: string;
}

export const csrfCookie = "hooklens_csrf";

function isSession(v: unknown): v is Session {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.name === "string" && (s.role === "admin" || s.role === "viewer");
}

async function readSession(res: Response): Promise<Session> {
  const body: unknown = await res.json();
  if (!isSession(body)) throw new Error("the server answered an unexpected session shape");
  return { ...body, csrfToken: typeof body.csrfToken === "string" ? body.csrfToken : (readCookie(csrfCookie) ?? "") };
}

/** The current session, or null when nobody is signed in. */
export async function fetchSession(signal?: AbortSignal): Promise<Session | null> {
  const res = await fetch("/api/session", { credentials: "same-origin", signal: signal ?? null });
  if (res.status === 401) return null;
  if (!res.ok) throw await apiErrorFromResponse(res);
  return readSession(res);
}

/** Exchanges an API token for a session. */
export async function signIn(token: string): Promise<Session> {
  const res = await fetch("/api/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: token.trim() }),
  });
  if (!res.ok) throw await apiErrorFromResponse(res);
  return readSession(res);
}

/** Ends the session; the server clears both cookies. */
export async function signOut(): Promise<void> {
  const res = await fetch("/api/session", {
    method: "DELETE",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken() },
  });
  if (!res.ok && res.status !== 401) throw await apiErrorFromResponse(res);
}

/** The CSRF token to echo on cookie-authenticated POSTs. */
export function csrfToken(): string {
  return readCookie(csrfCookie) ?? "";
}

/** Reads a token from a sign-in link's fragment: #token=hl_… */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const token = params.get("token")?.trim();
  return token ? token : null;
}
