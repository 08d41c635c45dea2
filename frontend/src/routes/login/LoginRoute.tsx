// Sign-in: from the link the server prints on first start (/login#token=…)
// or by pasting a token. The token is exchanged for a session cookie and
// never kept by the dashboard.
import { Form, redirect, useActionData, useLoaderData, useNavigation, useSearchParams, type ActionFunctionArgs } from "react-router";
import { resetClients } from "../../api/client";
import { toApiError, type ApiError } from "../../api/errors";
import { fetchSession, signIn, tokenFromFragment } from "../../api/session";
import { ThemeToggle } from "../../components/ThemeToggle";

interface LoginData {
  error: ApiError | null;
}

/** Only same-site paths, so a crafted link cannot send the reader elsewhere. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/login")) return "/";
  return next;
}

async function signInAndGo(token: string, next: string): Promise<LoginData> {
  try {
    await signIn(token);
  } catch (err) {
    return { error: toApiError(err) };
  }
  resetClients();
  throw redirect(next);
}

export async function loginLoader({ request }: { request: Request }): Promise<LoginData> {
  const url = new URL(request.url);
  const next = safeNext(url.searchParams.get("next"));
  const token = tokenFromFragment(window.location.hash);
  if (token) {
    // Take the token out of the address bar (and history) before using it.
    window.history.replaceState(window.history.state, "", url.pathname + url.search);
    return signInAndGo(token, next);
  }
  if (!url.searchParams.has("expired") && !url.searchParams.has("signedOut")) {
    try {
      if (await fetchSession(request.signal)) throw redirect(next);
    } catch (err) {
      if (err instanceof Response) throw err;
      // The server cannot tell: show the form.
    }
  }
  return { error: null };
}

export async function loginAction({ request }: ActionFunctionArgs): Promise<LoginData> {
  const form = await request.formData();
  const token = form.get("token");
  if (typeof token !== "string" || token.trim() === "") {
    return { error: toApiError(new Error("Paste an API token (it starts with hl_).")) };
  }
  return signInAndGo(token, safeNext(new URL(request.url).searchParams.get("next")));
}

export function LoginRoute() {
  const loaded = useLoaderData<LoginData>();
  const acted = useActionData<LoginData>();
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const error = acted?.error ?? loaded.error;
  const busy = navigation.state !== "idle";

  return (
    <main id="main" className="login">
      <div className="login-card">
        <div className="login-head">
          <h1>
            <span aria-hidden="true">◎</span> hooklens
          </h1>
          <ThemeToggle />
        </div>
        {params.has("expired") && (
          <p className="notice" role="status">
            Your session has ended. Sign in again to continue.
          </p>
        )}
        {params.has("signedOut") && (
          <p className="notice" role="status">
            You are signed out.
          </p>
        )}
        <Form method="post" className="login-form">
          <label htmlFor="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="hl_…"
            required
            aria-describedby="token-help"
            aria-invalid={error ? true : undefined}
          />
          <p id="token-help" className="muted">
            Use the sign-in link hooklens printed on its first start, or paste a token from{" "}
            <code>hooklens token create</code>. Admins can manage tokens; viewers can only read.
          </p>
          {error && (
            <p className="form-error" role="alert">
              {error.message}
              {error.requestId && <span className="muted"> (request {error.requestId})</span>}
            </p>
          )}
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </Form>
      </div>
    </main>
  );
}
