// What the relay benchmarks share (bench/queue.ts, bench/realtime.ts): the local relay started with
// `wrangler dev --env bench` against the built-in emulator, fresh state in a temporary directory, and
// stopped by its process group whatever happens; bounded waits; the emulator's local-only stats; and
// the digest that proves every write reached it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import process from "node:process";
import { toHex } from "../src/internal/index.js";

/** The bench environment's key (wrangler.toml, [env.bench.vars]): it writes and reads. */
export const KEY = "bench-key";
/** No request may hang a benchmark: each is given up after this long. */
export const REQUEST_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 90_000;
/** Retries of a write answered 503. */
const MAX_RETRIES = 5;

// Run from its bundle in node_modules/.cache/bench/ or from bench/: the repo is above either.
const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const REPO = HERE.includes("/node_modules/")
  ? HERE.replace(/\/node_modules\/.*$/, "")
  : HERE.replace(/\/bench\/?$/, "");

/** What GET /_emulator/stats answers (worker/upstream/local-emulator.ts). */
export interface Stats {
  readonly profiles: number;
  readonly digest: string;
  readonly calls: {
    readonly update: number;
    readonly fetch: number;
    readonly batchUpdate: number;
    readonly batchStatus: number;
    readonly delivery: number;
  };
  readonly realtime: {
    readonly billedCalls: number;
    readonly sessionSwitches: number;
    readonly sharedSessions: number;
    readonly maxConcurrentRequests: number;
  };
  readonly bulkCallTimes: readonly number[];
}

export interface LocalRelay {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Stops wrangler (its whole process group); `clean` also deletes its state and log. */
  stop(clean: boolean): Promise<void>;
}

/**
 * Starts `wrangler dev --env bench` (plus `--var NAME:VALUE` for each of `vars`) on a free port,
 * with its own state, and waits for its /healthz. SIGINT and SIGTERM stop it too.
 */
export async function startLocalRelay(vars: Readonly<Record<string, string>> = {}): Promise<LocalRelay> {
  const state = mkdtempSync(`${tmpdir()}/target-profile-bench-`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = `${state}/wrangler.log`;
  const log = openSync(logFile, "w");
  const wrangler = spawn(
    `${REPO}/node_modules/.bin/wrangler`,
    [
      "dev",
      "--env",
      "bench",
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      `${state}/state`,
      "--log-level",
      "warn",
    ],
    {
      cwd: REPO,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
      detached: true, // its own process group, stopped as one
      stdio: ["ignore", log, log],
    },
  );
  const onSignal = (code: number) => () => void stopGroup(wrangler).then(() => process.exit(code));
  const onInterrupt = onSignal(130);
  const onTerminate = onSignal(143);
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onTerminate);
  const relay: LocalRelay = {
    base,
    pid: wrangler.pid,
    logFile,
    async stop(clean) {
      process.off("SIGINT", onInterrupt);
      process.off("SIGTERM", onTerminate);
      await stopGroup(wrangler);
      if (clean) rmSync(state, { recursive: true, force: true });
    },
  };
  try {
    await until(
      READY_TIMEOUT_MS,
      "the relay to start",
      async () => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).ok,
    );
  } catch (error) {
    await relay.stop(false);
    throw error;
  }
  return relay;
}

/** A JSON POST with the bench key. */
export function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/**
 * A POST that a caller would retry: on a 503 ("not taken, try again": the relay's own, or wrangler
 * dev's proxy when it loses the worker's connection under load) after its Retry-After, and on a
 * dropped connection. A repeat of a write that was taken after all is harmless: same values, and
 * the visitor's next write is not sent before this one is answered.
 */
export async function postWithRetries(url: string, body: unknown, onRetry: () => void): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await post(url, body).catch((error: unknown) => error as Error);
    const retryable = response instanceof Error || response.status === 503;
    if (!retryable || attempt === MAX_RETRIES) {
      if (response instanceof Error) throw response;
      return response;
    }
    onRetry();
    const seconds = response instanceof Error ? 1 : Number(response.headers.get("retry-after") ?? 1);
    await new Promise((resolve) => setTimeout(resolve, 1000 * Math.min(10, seconds)));
  }
}

/** A GET with the bench key. */
export function get(url: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${KEY}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** What the relay's emulator holds and counted. */
export async function stats(base: string): Promise<Stats> {
  const response = await get(`${base}/_emulator/stats`);
  if (!response.ok) throw new Error(`GET /_emulator/stats answered ${response.status}`);
  return (await response.json()) as Stats;
}

/** The emulator's digest of `newest` (worker/upstream/local-emulator.ts): the same canonical JSON, hashed. */
export async function digestOf(newest: ReadonlyMap<string, Record<string, string>>): Promise<string> {
  const byName = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
  const profiles = [...newest]
    .map(([id, attributes]) => [id, Object.entries(attributes).sort(byName)] as const)
    .sort(byName);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(profiles)));
  return toHex(digest);
}

/** Waits until `check` holds, at most `timeoutMs`; a failed check (a dropped connection under load) is just "not yet". */
export async function until(
  timeoutMs: number,
  what: string,
  check: () => Promise<boolean>,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The value below which a share `p` of the (sorted) values fall, rounded to whole milliseconds. */
export function percentile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
}

export const format = (value: number) => value.toLocaleString("en-US");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      // Listening on a TCP port, the address is an AddressInfo.
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * SIGTERM to the process group; once its leader exits (or after 10 s), SIGKILL to whatever of the group
 * is left: wrangler's own child may outlive the shim that leads the group.
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", resolve));
  const signal = (name: string) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  signal("SIGKILL");
}
