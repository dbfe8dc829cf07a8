// Running the real command line (dist/cli/index.js, built by npm run build; see build-once.ts)
// against the emulator it serves, in a temporary folder of its own.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BIN = new URL("../../dist/cli/index.js", import.meta.url).pathname;

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a run: nothing of Target's from the caller's own environment. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(TARGET_|RELAY_)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs the bin to its end. */
export function run(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Starts the bin, for a test that stops it itself. */
export function start(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface EmulatorServer {
  readonly url: string;
  /** The environment that points the command line at it. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** `target-profile emulator` on a free port of 127.0.0.1. */
export async function startEmulator(
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<EmulatorServer> {
  const child = start(["emulator", "--port", "0", "--client-code", "acme", ...args], { cwd: tmpdir(), env });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk;
      const match = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`the emulator stopped (${code})`)));
  });
  return {
    url,
    env: { TARGET_BASE_URL: url, TARGET_CLIENT_CODE: "acme" },
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** A temporary folder, removed by the returned function. */
export function tempFolder(): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "target-profile-cli-"));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
