// The routes. The shell's loader asks the server who is signed in and sends
// everyone else to /login; pages are split into their own chunks.
import { createBrowserRouter, redirect, type LoaderFunctionArgs, type RouteObject } from "react-router";
import { fetchSession } from "./api/session";
import { Shell, type RouteHandle } from "./components/Shell";
import { loginAction, loginLoader, LoginRoute } from "./routes/login/LoginRoute";
import { NotFound, RouteError } from "./routes/RouteError";
import { Loading } from "./components/States";

async function sessionLoader({ request }: LoaderFunctionArgs) {
  const session = await fetchSession(request.signal);
  if (!session) {
    const url = new URL(request.url);
    throw redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  }
  return session;
}

const handle = (h: RouteHandle) => h;

export const routes: RouteObject[] = [
  {
    path: "/login",
    Component: LoginRoute,
    loader: loginLoader,
    action: loginAction,
    HydrateFallback: () => <Loading label="Signing in…" />,
    errorElement: <RouteError />,
    handle: handle({ title: "Sign in" }),
  },
  {
    path: "/",
    Component: Shell,
    loader: sessionLoader,
    // Ask the server again when the page changes, not on every filter change.
    shouldRevalidate: ({ currentUrl, nextUrl, defaultShouldRevalidate }) =>
      currentUrl.pathname !== nextUrl.pathname && defaultShouldRevalidate,
    HydrateFallback: () => <Loading label="Checking your session…" />,
    errorElement: <RouteError />,
    children: [
      {
        index: true,
        handle: handle({ title: "Overview", timeRange: true }),
        lazy: () => import("./routes/overview/OverviewRoute").then((m) => ({ Component: m.OverviewRoute })),
      },
      {
        path: "events",
        handle: handle({ title: "Events", timeRange: true, skipTo: { id: "event-list", label: "Skip to the event list" } }),
        lazy: () => import("./routes/events/EventsRoute").then((m) => ({ Component: m.EventsRoute })),
      },
      {
        path: "events/deliveries",
        handle: handle({ title: "Deliveries", timeRange: true, skipTo: { id: "delivery-list", label: "Skip to the delivery list" } }),
        lazy: () => import("./routes/deliveries/DeliveriesRoute").then((m) => ({ Component: m.DeliveriesRoute })),
      },
      {
        path: "journeys",
        handle: handle({ title: "Journeys", timeRange: true }),
        lazy: () => import("./routes/journeys/JourneysRoute").then((m) => ({ Component: m.JourneysRoute })),
      },
      {
        path: "journeys/definitions",
        handle: handle({ title: "Journey definitions" }),
        lazy: () => import("./routes/journeys/DefinitionsRoute").then((m) => ({ Component: m.DefinitionsRoute })),
      },
      {
        path: "customers",
        handle: handle({ title: "Customers" }),
        lazy: () => import("./routes/customers/CustomersRoute").then((m) => ({ Component: m.CustomersRoute })),
      },
      {
        path: "customers/:id",
        handle: handle({ title: "Customer" }),
        lazy: () => import("./routes/customers/CustomerRoute").then((m) => ({ Component: m.CustomerRoute })),
      },
      {
        path: "reconciliation",
        handle: handle({ title: "Reconciliation" }),
        lazy: () => import("./routes/reconciliation/ReconciliationRoute").then((m) => ({ Component: m.ReconciliationRoute })),
      },
      {
        path: "alerts",
        handle: handle({ title: "Anomalies & alerts" }),
        lazy: () => import("./routes/alerts/AlertsRoute").then((m) => ({ Component: m.AlertsRoute })),
      },
      {
        path: "alerts/:id",
        handle: handle({ title: "Alert" }),
        lazy: () => import("./routes/alerts/AlertRoute").then((m) => ({ Component: m.AlertRoute })),
      },
      {
        path: "monitor",
        handle: handle({ title: "Real-time monitor" }),
        lazy: () => import("./routes/monitor/MonitorRoute").then((m) => ({ Component: m.MonitorRoute })),
      },
      { path: "settings", loader: () => redirect("/settings/tokens") },
      {
        path: "settings/tokens",
        handle: handle({ title: "Settings · API tokens" }),
        lazy: () => import("./routes/settings/TokensRoute").then((m) => ({ Component: m.TokensRoute })),
      },
      {
        path: "settings/audit",
        handle: handle({ title: "Settings · Audit log" }),
        lazy: () => import("./routes/settings/AuditRoute").then((m) => ({ Component: m.AuditRoute })),
      },
      {
        path: "playground",
        handle: handle({ title: "GraphQL playground" }),
        lazy: () => import("./routes/playground/PlaygroundRoute").then((m) => ({ Component: m.PlaygroundRoute })),
      },
      { path: "*", Component: NotFound, handle: handle({ title: "Not found" }) },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
