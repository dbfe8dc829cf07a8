import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { createTargetEmulator, type TargetEmulatorOptions } from "../../src/emulator/index.js";
import type { Env } from "../../worker/env.js";

declare global {
  namespace Cloudflare {
    interface Env {
      /** vitest.config.ts: a ratelimit binding allowing 2 requests a minute per key. */
      TEST_TIGHT_RATE_LIMIT: RateLimit;
    }
    // The Worker entry's exports, which type `exports` from "cloudflare:workers" (`send` below). Declared
    // here, not in worker/: nothing of the Worker imports its entry.
    interface GlobalProps {
      mainModule: typeof import("../../worker/index.js");
    }
  }
}

/** The test keys and token, as vitest.config.ts binds them (each a canary for the log tests). */
const keys = JSON.parse(env.RELAY_KEYS as string) as { name: string; key: string }[];
const keyNamed = (name: string) => keys.find((entry) => entry.name === name)?.key as string;
export const WRITE_KEY = keyNamed("test-writer");
export const READ_KEY = keyNamed("test-reader");
export const ADMIN_KEY = keyNamed("test-admin");
export const TARGET_TOKEN = env.TARGET_TOKEN as string;

/** Where tests pretend the relay is served; only the path matters to it. */
export const RELAY = "https://relay.example";

/** The relay as deployed: its default export, with the bindings of wrangler.toml + vitest.config.ts. */
export const send = (request: Request) => exports.default.fetch(request);

/** The test bindings with some changed (for `handleRequest`, which takes `env` as an argument). */
export const envWith = (overrides: Partial<Record<keyof Env, unknown>>): Env => ({ ...env, ...overrides }) as Env;

interface RequestOptions {
  readonly key?: string | null;
  readonly headers?: Record<string, string>;
}

export function post(path: string, body: unknown, { key = WRITE_KEY, headers = {} }: RequestOptions = {}): Request {
  return new Request(RELAY + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function get(path: string, { key = READ_KEY, headers = {} }: RequestOptions = {}): Request {
  return new Request(RELAY + path, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers } });
}

/**
 * Adobe Target as the relay's upstream sees it: an emulator (requiring the test token) behind a
 * spy on the global fetch, recording the URL and headers of every request the relay sent.
 */
export function fakeTarget(options: TargetEmulatorOptions = {}) {
  const emulator = createTargetEmulator({ clientCode: "acme", token: TARGET_TOKEN, ...options });
  const sent: { url: string; headers: Record<string, string> }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    sent.push({ url: request.url, headers: Object.fromEntries(request.headers) });
    return emulator.fetch(request);
  });
  return { emulator, sent };
}

/** The relay's error answer, checked to have the one documented shape. */
export async function errorOf(response: Response): Promise<{ code: string; message: string; field?: string }> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  return body.error;
}

/** Every line the relay logged while `run` ran (which sees them come, as `lines`). */
export async function capturedLogs(run: (lines: readonly string[]) => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(capture),
  );
  try {
    await run(lines);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

/** The relay's JSON log lines (one per request). */
export const requestLines = (lines: readonly string[]) =>
  lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => "requestId" in line);
