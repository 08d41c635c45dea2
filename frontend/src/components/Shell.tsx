// The signed-in frame: skip link, header with navigation, the reader's name
// and role, theme and sign-out, and the page.
import { Suspense, useState } from "react";
import { NavLink, Outlet, useLoaderData, useMatches, useNavigate, useNavigation, useSearchParams } from "react-router";
import { Provider } from "urql";
import { getClients, resetClients } from "../api/client";
import { SystemStatusContext, useSystemStatusStream } from "../api/pipeline";
import { toApiError, type ApiError } from "../api/errors";
import { signOut, type Session } from "../api/session";
import { SessionContext } from "../api/sessionContext";
import { navItems, navSearch } from "../nav";
import { StatusBar } from "./StatusBar";
import { ErrorState, Loading } from "./States";
import { ThemeToggle } from "./ThemeToggle";
import { TimeRangePicker } from "./TimeRangePicker";

/** Route handle: what the shell shows for a page. */
export interface RouteHandle {
  title: string;
  timeRange?: boolean;
}

function isHandle(v: unknown): v is RouteHandle {
  return typeof v === "object" && v !== null && typeof (v as { title?: unknown }).title === "string";
}

export function Shell() {
  const session = useLoaderData<Session>();
  const clients = getClients();
  return (
    <SessionContext.Provider value={session}>
      <Provider value={clients.urql}>
        <SystemStatusProvider>
          <Frame session={session} />
        </SystemStatusProvider>
      </Provider>
    </SessionContext.Provider>
  );
}

/** One systemStatus subscription for the whole dashboard. */
function SystemStatusProvider({ children }: { children: React.ReactNode }) {
  const state = useSystemStatusStream();
  return <SystemStatusContext.Provider value={state}>{children}</SystemStatusContext.Provider>;
}

function Frame({ session }: { session: Session }) {
  const matches = useMatches();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const navigation = useNavigation();
  const [signOutError, setSignOutError] = useState<ApiError | null>(null);
  const handle = [...matches].reverse().map((m) => m.handle).find(isHandle);
  const clients = getClients();

  const doSignOut = () => {
    signOut().then(
      () => {
        resetClients();
        void navigate("/login?signedOut=1", { replace: true });
      },
      (err: unknown) => setSignOutError(toApiError(err)),
    );
  };

  return (
    <>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <header className="topbar">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true">
              ◎
            </span>{" "}
            hooklens
          </div>
          <nav aria-label="Main">
            <ul className="nav">
              {navItems
                .filter((item) => !item.admin || session.role === "admin")
                .map((item) => (
                  <li key={item.to}>
                    <NavLink to={{ pathname: item.to, search: navSearch(params, item) }} end={item.to === "/"}>
                      {item.label}
                    </NavLink>
                  </li>
                ))}
            </ul>
          </nav>
          <div className="topbar-end">
            <span className="who" data-testid="who">
              {session.name} <span className={`badge role-${session.role}`}>{session.role}</span>
            </span>
            <ThemeToggle />
            <button type="button" className="button ghost" onClick={doSignOut}>
              Sign out
            </button>
          </div>
        </header>
        {navigation.state === "loading" && <div className="progress" role="progressbar" aria-label="Loading page" />}
        <main id="main" tabIndex={-1}>
          {signOutError && <ErrorState error={signOutError} title="Could not sign out" />}
          {handle && (
            <div className="page-head">
              <h1>{handle.title}</h1>
              {handle.timeRange && <TimeRangePicker />}
            </div>
          )}
          <Suspense fallback={<Loading />}>
            <Outlet context={clients} />
          </Suspense>
        </main>
        <StatusBar />
    </>
  );
}
