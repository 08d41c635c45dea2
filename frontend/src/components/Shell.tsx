// The signed-in frame: skip link, header with navigation, the reader's name
// and role, theme and sign-out, and the page.
import { Suspense, useRef, useState } from "react";
import { NavLink, Outlet, useLoaderData, useLocation, useMatches, useNavigate, useNavigation, useSearchParams } from "react-router";
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
  /** The page's main list: a second skip link jumps to the element with this id. */
  skipTo?: { id: string; label: string };
}

/** Moves focus to the element with this id (a skip link's target). */
function focusTarget(id: string) {
  const el = document.getElementById(id);
  if (!el) return;
  if (!el.hasAttribute("tabindex") && !(el instanceof HTMLAnchorElement || el instanceof HTMLButtonElement)) el.setAttribute("tabindex", "-1");
  el.focus();
}

function SkipLink({ id, children }: { id: string; children: React.ReactNode }) {
  return (
    <a
      href={`#${id}`}
      className="skip-link"
      onClick={(e) => {
        // Focus the target without a fragment navigation, which the router would see as a new page.
        e.preventDefault();
        focusTarget(id);
      }}
    >
      {children}
    </a>
  );
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
  const location = useLocation();
  const navigate = useNavigate();
  const navigation = useNavigation();
  const [signOutError, setSignOutError] = useState<ApiError | null>(null);
  // The collapsed menu (narrow screens) is open for the page it was opened on: following a link closes it.
  const here = location.pathname + location.search;
  const [menuOpenAt, setMenuOpenAt] = useState<string | null>(null);
  const menuOpen = menuOpenAt === here;
  const menuButton = useRef<HTMLButtonElement>(null);
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
        <SkipLink id="main">Skip to content</SkipLink>
        {handle?.skipTo && <SkipLink id={handle.skipTo.id}>{handle.skipTo.label}</SkipLink>}
        <header
          className="topbar"
          onKeyDown={(e) => {
            if (e.key === "Escape" && menuOpen) {
              setMenuOpenAt(null);
              menuButton.current?.focus();
            }
          }}
        >
          <div className="brand">
            <span className="brand-mark" aria-hidden="true">
              ◎
            </span>{" "}
            hooklens
          </div>
          <button
            ref={menuButton}
            type="button"
            className="button ghost menu-button"
            aria-expanded={menuOpen}
            aria-controls="topbar-menu"
            onClick={() => setMenuOpenAt(menuOpen ? null : here)}
          >
            Menu
          </button>
          <div id="topbar-menu" className={`topbar-menu${menuOpen ? " open" : ""}`}>
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
              <span className="who" data-testid="who" title={`Signed in as ${session.name} (${session.role})`}>
                <span className="who-name">{session.name}</span> <span className={`badge role-${session.role}`}>{session.role}</span>
              </span>
              <ThemeToggle />
              <button type="button" className="button ghost sign-out" onClick={doSignOut}>
                Sign out
              </button>
            </div>
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
