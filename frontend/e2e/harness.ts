// Test harness for the browser tests: a real hooklens server on a free port
// with a fresh SQLite database, real signed webhooks from Dwolla's sandbox
// captures, and Debian's Chromium driven by playwright-core.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const serverBinary = resolve(repoRoot, process.env.HOOKLENS_BIN ?? "bin/hooklens");
export const screenshotDir = join(repoRoot, "test-results", "screenshots");
export const webhookSecret = "e2e-webhook-secret";
/**
 * The test servers' ingest timeout. A loopback SQLite commit takes
 * milliseconds; a short timeout lets `rollup flush` count deliveries two
 * seconds old instead of thirty (its margin must exceed the timeout).
 */
export const ingestTimeout = "1s";

/**
 * Why the browser tests cannot run here, or null when they can. Outside CI
 * a missing Chromium or binary skips them; with CI=true it fails the run.
 */
export function missingPrerequisite(): string | null {
  if (!existsSync(chromiumPath)) return `${chromiumPath} is missing (apt-get install -y chromium)`;
  if (!existsSync(serverBinary)) return `${serverBinary} is missing (make build, or go build -o bin/hooklens ./server)`;
  return null;
}

export const inCI = process.env.CI === "true" || process.env.CI === "1";

/**
 * Notes that the tests named by suite skip because of why, in the file
 * HOOKLENS_SKIP_LOG names (one "why<TAB>name" line, as the Go tests write),
 * so that `make test` can say at the end what did not run.
 */
export function recordSkip(why: string, suite: string): void {
  const path = process.env.HOOKLENS_SKIP_LOG;
  if (!path) return;
  appendFileSync(path, `${why.replaceAll("\t", " ")}\t${suite}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

export interface RunningServer {
  baseURL: string;
  /** The SQLite file it serves, for the CLI. */
  databaseURL: string;
  adminToken: string;
  loginURL: string;
  /** Everything the server printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

/** Runs a bin/hooklens command to completion and returns what it printed on stdout. */
export async function hooklens(args: string[], opts: { timeout?: number; cwd?: string } = {}): Promise<string> {
  return new Promise((res, rej) => {
    execFile(
      serverBinary,
      args,
      { cwd: opts.cwd ?? tmpdir(), env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.cwd ?? tmpdir() }, timeout: opts.timeout ?? 60_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => (err ? rej(new Error(`hooklens ${args.join(" ")}: ${err.message}\n${stderr}`)) : res(stdout)),
    );
  });
}

export interface ServerOptions {
  /** Extra flags for `hooklens serve`. */
  args?: string[];
  /** Runs before the server starts, with the database it will serve (e.g. to generate history). */
  prepare?: (databaseURL: string, dir: string) => Promise<void>;
}

/** Starts bin/hooklens and waits for the sign-in link it prints on first start. */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), "hooklens-e2e-"));
  const databaseURL = join(dir, "h.db");
  if (opts.prepare) await opts.prepare(databaseURL, dir);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
  const child: ChildProcess = spawn(
    serverBinary,
    [
      "serve",
      "--addr",
      `127.0.0.1:${port}`,
      "--database-url",
      databaseURL,
      "--webhook-secret",
      webhookSecret,
      "--ingest-timeout",
      ingestTimeout,
      "--log-level",
      "warn",
      ...(opts.args ?? []),
    ],
    { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (out += b.toString()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /Sign in to the dashboard: (\S+\/login#token=(hl_\S+))/.exec(out);
    if (m?.[1] && m[2]) {
      const loginURL = m[1];
      return { baseURL: new URL(loginURL).origin, databaseURL, adminToken: m[2], loginURL, output: () => out, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`hooklens did not print a sign-in link:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One webhook as Dwolla delivered it in the sandbox. */
export interface CapturedWebhook {
  topic: string;
  body: string;
  id: string;
}

/** Every webhookPayload in internal/dwolla/testdata/captures, in file and step order. */
export function loadCaptures(): CapturedWebhook[] {
  const dir = join(repoRoot, "internal/dwolla/testdata/captures");
  const out: CapturedWebhook[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const doc = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
      webhooksArray?: { set?: { webhookPayload?: { id?: string; topic?: string } }[] }[];
    };
    for (const step of doc.webhooksArray ?? []) {
      for (const item of step.set ?? []) {
        const p = item.webhookPayload;
        if (p?.id && p.topic) out.push({ topic: p.topic, id: p.id, body: JSON.stringify(p) });
      }
    }
  }
  return out;
}

/** A capture with a new event id: a real payload shape the server has not seen. */
export function freshWebhook(from: CapturedWebhook): CapturedWebhook {
  const payload = JSON.parse(from.body) as Record<string, unknown>;
  const id = randomUUID();
  payload.id = id;
  payload.created = new Date().toISOString();
  return { topic: from.topic, id, body: JSON.stringify(payload) };
}

export function sign(body: string, secret: string = webhookSecret): string {
  return createHmac("sha256", secret).update(body, "utf8").digest("hex");
}

/** Delivers a webhook signed like Dwolla does; returns the HTTP status. */
export async function deliver(baseURL: string, hook: CapturedWebhook, secret: string = webhookSecret): Promise<number> {
  const res = await fetch(`${baseURL}/api/webhooks/dwolla/v2`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Dwolla-Topic": hook.topic,
      "X-Request-Signature-SHA-256": sign(hook.body, secret),
    },
    body: hook.body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** What `hooklens simulate` reported: events sent and delivered. */
export interface SimulationResult {
  events: number;
  delivered: number;
  summary: string;
}

/**
 * Sends realistic signed Dwolla traffic with `hooklens simulate` (its
 * lifecycles: customers, funding sources, transfers and their failures).
 */
export async function simulate(baseURL: string, opts: { rate: number; duration: string; seed: number; mix?: string }): Promise<SimulationResult> {
  const args = ["simulate", "--target", `${baseURL}/api/webhooks/dwolla/v2`, "--secret", webhookSecret];
  args.push("--rate", String(opts.rate), "--duration", opts.duration, "--seed", String(opts.seed));
  if (opts.mix) args.push("--mix", opts.mix);
  const out = await hooklens(args, { timeout: 60_000 });
  const m = /(\d+) events \(\d+ duplicates\).*?: (\d+) delivered/.exec(out);
  if (!m?.[1] || !m[2]) throw new Error(`hooklens simulate printed no summary:\n${out}`);
  return { events: Number(m[1]), delivered: Number(m[2]), summary: out.trim() };
}

/**
 * Counts every delivery into the rollups now (`hooklens rollup flush`),
 * instead of waiting for the server's aggregator and its 30-second margin.
 * Call it once the last delivery is older than the margin (2 s).
 */
export async function flushRollups(server: RunningServer): Promise<void> {
  await hooklens(["rollup", "flush", "--database-url", server.databaseURL, "--ingest-timeout", ingestTimeout, "--margin", "2s"]);
}

/** Asks the API directly (bearer token), to compare the page with the truth. */
export async function gql<T>(baseURL: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${baseURL}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL failed (${res.status}): ${JSON.stringify(body.errors)}`);
  return body.data;
}

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches Debian's Chromium. playwright-core gives every launch a fresh,
 * temporary user-data-dir, and never downloads a browser.
 */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(screenshotDir, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs, timeout: 30_000 });
}

// Evaluated through the DevTools protocol: the dashboard's CSP (rightly)
// refuses an injected <script>.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface A11yViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) on the page as it is and returns
 * the serious and critical violations.
 */
export async function a11yViolations(page: Page, exclude: string[] = []): Promise<A11yViolation[]> {
  await page.evaluate(`${axeSource};0`);
  return page.evaluate(async (exclude) => {
    const axe = (window as unknown as { axe: { run: (ctx: object, opts: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const res = await axe.run({ include: [["body"]], exclude: exclude.map((s) => [s]) }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return res.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  }, exclude);
}
