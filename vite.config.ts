import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
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

// Precompress the build: beside each text asset, name.br (brotli, quality
// 11) and name.gz (gzip -9), which the Go server sends to clients that
// accept them (frontend/embed.go). Done once here, not per request.
const compressible = /\.(js|mjs|css|html|svg|json|txt|wasm)$/;
const precompress: Plugin = {
  name: "hooklens-precompress",
  apply: "build",
  closeBundle() {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
    for (const file of walk(resolve(import.meta.dirname, "frontend/dist"))) {
      if (!compressible.test(file)) continue;
      const raw = readFileSync(file);
      if (raw.length < 1024) continue; // not worth a round of decoding
      const br = brotliCompressSync(raw, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
          [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
      });
      const gz = gzipSync(raw, { level: 9 });
      if (br.length < raw.length) writeFileSync(file + ".br", br);
      if (gz.length < raw.length) writeFileSync(file + ".gz", gz);
    }
  },
};

// The hooklens server we proxy to in development (`make run` listens here).
const server = process.env.HOOKLENS_DEV_SERVER ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: "frontend",
  publicDir: "public",
  plugins: [react(), keepDist, precompress],
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
