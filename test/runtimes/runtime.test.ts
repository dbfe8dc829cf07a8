import { describe, expect, it } from "vitest";

// No Node types in this program (tsconfig.json): the few runtime globals read here, typed here.
interface RuntimeGlobals {
  readonly Deno?: {
    readonly version: { readonly deno: string };
    readonly env: { get(name: string): string | undefined };
  };
  readonly Bun?: { readonly version: string };
  readonly process?: {
    readonly versions: { readonly node?: string };
    readonly env: Record<string, string | undefined>;
  };
}
const globals = globalThis as unknown as RuntimeGlobals;

/** `deno 2.9.6`, `bun 1.4.5` or `node 22.23.3`: Deno and Bun also define `process.versions.node`, so they go first. */
function currentRuntime(): string {
  if (globals.Deno) return `deno ${globals.Deno.version.deno}`;
  if (globals.Bun) return `bun ${globals.Bun.version}`;
  if (globals.process?.versions.node) return `node ${globals.process.versions.node}`;
  return "unknown";
}

/** Set by scripts/runtimes.mjs for every run. */
const expected = globals.process?.env["TARGET_PROFILE_RUNTIME"] ?? globals.Deno?.env.get("TARGET_PROFILE_RUNTIME");

describe("runtime", () => {
  it(`the test worker is ${expected ?? "(TARGET_PROFILE_RUNTIME unset: run through npm run test:runtimes)"}`, () => {
    expect(expected, "TARGET_PROFILE_RUNTIME is unset: run this config through npm run test:runtimes").toBeDefined();
    expect(currentRuntime()).toBe(expected);
  });

  it("has the web platform the core relies on, natively", () => {
    for (const name of [
      "fetch",
      "Request",
      "Response",
      "Headers",
      "URL",
      "URLSearchParams",
      "TextEncoder",
      "TextDecoder",
      "AbortController",
      "AbortSignal",
    ]) {
      expect(typeof (globalThis as Record<string, unknown>)[name], name).toBe("function");
    }
  });
});
