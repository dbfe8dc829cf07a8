// `npm run bench:cli`: a generated CSV export (1,000,000 rows, 10 attribute columns, 1% bad rows)
// pushed by the real bin (dist/cli/index.js) to `target-profile emulator`, each in a process of its
// own, against encodeBatches on the same rows already in memory. Prints rows/s, MB/s, the push's
// peak RSS and CPU time, and the two ratios the command line is held to: the push's throughput over
// encodeBatches' (aim: at least 0.5) and its peak RSS over the largest batch file (aim: under 3×,
// above what the bin takes doing nothing).
//
//   npm run bench:cli [-- ROWS]
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { encodeBatches, type ProfileUpdate } from "../src/index.js";
import { seededRandom } from "../test/seeded-random.js";
import { CITIES, COLUMNS, NAMES, NOTES, SEGMENTS, TIERS } from "./sample-attributes.js";

// Bundled into node_modules/.cache/bench/: the repository is three folders up.
const root = new URL("../../..", import.meta.url).pathname;
const BIN = join(root, "dist/cli/index.js");
const CACHE = join(root, "node_modules/.cache/bench/cli");
const MB = 1024 * 1024;
const ROWS = Number(process.argv[2]) || 1_000_000;

const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/** The rows, as a CSV line each and as the update a reader makes of it (undefined: a bad row). */
function* generate(count: number): Generator<{ line: string; update: ProfileUpdate | undefined }> {
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const date = () => new Date(Date.UTC(2015, 0, 1) + Math.floor(random() * 3e11)).toISOString();
  for (let index = 0; index < count; index++) {
    const cells = [
      pick(TIERS),
      String(Math.floor(random() * 100_000)),
      String(Math.round(random() * 10_000) / 100),
      random() < 0.5 ? "true" : "false",
      date(),
      date().slice(0, 10),
      pick(CITIES),
      pick(NAMES),
      pick(SEGMENTS),
      random() < 0.2 ? "" : pick(NOTES),
    ];
    const id = `crm-${index}`;
    const roll = random();
    // 1% bad: a '/' in the id, no id, or one cell too many.
    if (roll < 0.0033) yield { line: [`${id}/x`, ...cells.map(quote)].join(","), update: undefined };
    else if (roll < 0.0066) yield { line: ["", ...cells.map(quote)].join(","), update: undefined };
    else if (roll < 0.01) yield { line: [id, ...cells.map(quote), "one cell too many"].join(","), update: undefined };
    else {
      const attributes: Record<string, string> = {};
      for (const [column, cell] of cells.entries()) if (cell !== "") attributes[COLUMNS[column]!] = cell;
      yield { line: [id, ...cells.map(quote)].join(","), update: { mbox3rdPartyId: id, attributes } };
    }
  }
}

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) =>
    out.write(text) ? undefined : new Promise<void>((resolve) => out.once("drain", () => resolve()));
  await write(`mbox3rdPartyId,${COLUMNS.join(",")}\n`);
  let chunk = "";
  for (const { line } of generate(ROWS)) {
    chunk += `${line}\n`;
    if (chunk.length > MB) {
      await write(chunk);
      chunk = "";
    }
  }
  await write(chunk);
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

/** encodeBatches over the valid rows, already in memory: its throughput in rows/s, and the largest file. */
function encodeInMemory(): { rowsPerSecond: number; largest: number; seconds: number; valid: number } {
  const rows = [...generate(ROWS)].flatMap(({ update }) => (update ? [update] : []));
  let best = Number.POSITIVE_INFINITY;
  let largest = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (const file of encodeBatches(rows)) largest = Math.max(largest, file.bytes);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  // Input rows a second (the push counts rows read, bad ones too).
  return { rowsPerSecond: ROWS / best, largest, seconds: best, valid: rows.length };
}

interface Measured {
  seconds: number;
  peakRss: number;
  cpuSeconds: number;
  stdout: string;
  status: number | null;
}

/** Runs the bin, measuring its wall time, and (through a preloaded hook) its peak RSS and CPU time. */
function runBin(args: readonly string[], env: Record<string, string>): Promise<Measured> {
  const hook = join(CACHE, "resource-hook.mjs");
  const report = join(CACHE, `usage-${process.pid}.json`);
  writeFileSync(
    hook,
    // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS over from the parent across fork and exec.
    `import { readFileSync, writeFileSync } from "node:fs";\nprocess.on("exit", () => { const u = process.resourceUsage(); const kb = Number(/VmHWM:\\s*(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]); writeFileSync(${JSON.stringify(report)}, JSON.stringify({ maxRSS: kb * 1024, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 })); });\n`,
  );
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", hook, BIN, ...args], {
      cwd: CACHE,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      const seconds = (performance.now() - started) / 1000;
      const usage = JSON.parse(readFileSync(report, "utf8")) as { maxRSS: number; cpu: number };
      rmSync(report);
      resolve({ seconds, peakRss: usage.maxRSS, cpuSeconds: usage.cpu, stdout, status });
    });
  });
}

/**
 * A Target that takes every upload and reads none of it, every batch complete at once: what the
 * push costs without the emulator's own work (it applies each row, as Target would later).
 */
function serveNullTarget(): void {
  let batches = 0;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    request.resume();
    request.on("end", () => {
      response.setHeader("content-type", "text/xml");
      if (url.pathname.endsWith("/batchUpdate")) {
        const status = `http://${request.headers.host}/m2/acme/profile/batchStatus?batchId=null-${++batches}`;
        response.end(
          `<response><success>true</success><batchStatus>${status}</batchStatus><message>Batch submitted for processing</message></response>`,
        );
      } else {
        const id = url.searchParams.get("batchId");
        response.end(
          `<response><batchId>${id}</batchId><status>complete</status><failedUpdates>0</failedUpdates></response>`,
        );
      }
    });
  });
  server.listen(0, "127.0.0.1", () =>
    console.log(`Null Target on http://127.0.0.1:${(server.address() as { port: number }).port}`),
  );
}

/** The emulator (`target-profile emulator`), or the null Target, in a process of its own. */
async function startTarget(kind: "emulator" | "null"): Promise<{ env: Record<string, string>; stop: () => void }> {
  const args =
    kind === "emulator" ? [BIN, "emulator", "--port", "0", "--client-code", "acme"] : [SCRIPT, "--null-target"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
      const match = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on("exit", () => reject(new Error(`the ${kind} Target stopped`)));
  });
  return { env: { TARGET_BASE_URL: url, TARGET_CLIENT_CODE: "acme" }, stop: () => child.kill("SIGTERM") };
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────

const SCRIPT = new URL(import.meta.url).pathname;
if (process.argv[2] === "--null-target") {
  serveNullTarget();
} else {
  await main();
}

async function main(): Promise<void> {
  if (!existsSync(BIN)) throw new Error("run npm run build first (npm run bench:cli does)");
  mkdirSync(CACHE, { recursive: true });
  const csv = join(CACHE, `customers-${ROWS}.csv`);
  if (!existsSync(csv)) {
    console.log(`writing ${csv} …`);
    await writeCsv(csv);
  }
  const bytes = statSync(csv).size;
  console.log(
    `${ROWS.toLocaleString("en-US")} rows × ${COLUMNS.length} attributes, 1% bad, ${(bytes / MB).toFixed(1)} MB of CSV, node ${process.version}, 1 MB = 2^20 bytes`,
  );

  const encoded = encodeInMemory();
  console.log(
    `encodeBatches (rows in memory)   ${Math.round(encoded.rowsPerSecond).toLocaleString("en-US").padStart(9)} rows/s  ${encoded.seconds.toFixed(2)} s  largest file ${(encoded.largest / MB).toFixed(1)} MB`,
  );
  const idle = await runBin(["--help"], {});
  for (const kind of ["emulator", "null"] as const) {
    const target = await startTarget(kind);
    let pushed: Measured;
    try {
      for (const stale of [".target-profile-state.json", ".rejected.csv", ".failed.csv"])
        rmSync(csv + stale, { force: true });
      pushed = await runBin(["push", csv, "--quiet", "--json"], target.env);
    } finally {
      target.stop();
    }
    const summary = JSON.parse(pushed.stdout) as {
      rowsRead: number;
      rowsRejected: number;
      rowsSent: number;
      batches: unknown[];
    };
    if (summary.rowsRead !== ROWS || summary.rowsSent !== encoded.valid) {
      throw new Error(
        `the push read ${summary.rowsRead} rows and sent ${summary.rowsSent}; expected ${ROWS} and ${encoded.valid}`,
      );
    }
    const rowsPerSecond = ROWS / pushed.seconds;
    const above = pushed.peakRss - idle.peakRss;
    console.log(
      `push to ${kind === "emulator" ? "the emulator " : "a null Target"}    ${Math.round(rowsPerSecond).toLocaleString("en-US").padStart(9)} rows/s  ${pushed.seconds.toFixed(2)} s  ` +
        `${(bytes / MB / pushed.seconds).toFixed(1)} MB/s  ${summary.batches.length} batch files, ${summary.rowsRejected.toLocaleString("en-US")} rejected  ` +
        `CPU ${pushed.cpuSeconds.toFixed(2)} s (${Math.round(ROWS / pushed.cpuSeconds).toLocaleString("en-US")} rows per CPU second)  ` +
        `peak RSS ${(pushed.peakRss / MB).toFixed(0)} MB (the bin doing nothing: ${(idle.peakRss / MB).toFixed(0)} MB)`,
    );
    console.log(
      `  ${(rowsPerSecond / encoded.rowsPerSecond).toFixed(2)}× encodeBatches' throughput (aim: at least 0.5; per CPU second: ${(ROWS / pushed.cpuSeconds / encoded.rowsPerSecond).toFixed(2)}×), ` +
        `peak RSS ${(above / encoded.largest).toFixed(2)}× the largest batch file above the idle bin (aim: under 3)`,
    );
  }
}
