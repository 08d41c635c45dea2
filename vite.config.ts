import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// emptyOutDir removes frontend/dist/.gitkeep, which git tracks so that the
// Go embed directive finds the folder on a clean clone; put it back.
const keepDist: Plugin = {
  name: "hooklens-keep-dist",
  apply: "build",
  closeBundle() {
    writeFileSync(resolve(import.meta.dirname, "frontend/dist/.gitkeep"), "");
  },
};

// The hooklens server we proxy to in development (`make run` listens here).
const server = process.env.HOOKLENS_DEV_SERVER ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: "frontend",
  publicDir: "public",
  plugins: [react(), keepDist],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The initial bundle has a budget (README: < 300 kB gzipped); routes
    // are split so the playground and charts load only when visited.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's react-compiler-runtime starts with "use no memo"; the
        // directive only matters to the React compiler, which we do not run.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/graphql": { target: server, ws: true, changeOrigin: false },
      "/api": { target: server },
      "/metrics": { target: server },
      "/healthz": { target: server },
      "/readyz": { target: server },
    },
  },
});
