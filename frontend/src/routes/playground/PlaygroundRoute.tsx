// GraphiQL, bundled (no CDN) and loaded only on this page. It runs as the
// signed-in reader: cookie and CSRF header over HTTP, the session's websocket
// for subscriptions.
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { useEffect, useMemo, useState } from "react";
import { useOutletContext } from "react-router";
import type { GraphQLClients } from "../../api/client";
import { createPlaygroundFetcher } from "./fetcher";
import { playgroundSchema } from "./schema";

const defaultQuery = `# Ask hooklens anything: Ctrl-Enter runs the query.
# Subscriptions run over the dashboard's websocket.
query RecentEvents {
  viewer { name role }
  events(first: 10) {
    totalCount
    edges { node { eventID topic resourceID receivedAt processingState } }
  }
}
`;

function useDashboardTheme(): "light" | "dark" {
  const read = () => (document.documentElement.dataset.theme === "dark" ? "dark" : "light");
  const [theme, setTheme] = useState<"light" | "dark">(read);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(read()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

export function PlaygroundRoute() {
  const clients = useOutletContext<GraphQLClients>();
  const fetcher = useMemo(() => createPlaygroundFetcher(clients.ws), [clients.ws]);
  const theme = useDashboardTheme();
  const schema = useMemo(() => playgroundSchema(), []);
  return (
    <div className="playground" data-testid="playground">
      <GraphiQL fetcher={fetcher} schema={schema} defaultQuery={defaultQuery} forcedTheme={theme} />
    </div>
  );
}
