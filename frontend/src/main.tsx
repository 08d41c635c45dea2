import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";
import { onSessionExpired } from "./api/client";
import { createRouter } from "./router";
import "./styles/app.css";

const router = createRouter();

// A 401 from any request or a refused websocket: back to sign-in, and back
// to this page afterwards.
onSessionExpired(() => {
  const here = window.location.pathname + window.location.search;
  void router.navigate(`/login?expired=1&next=${encodeURIComponent(here)}`, { replace: true });
});

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
