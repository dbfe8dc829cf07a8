// Bulk encoding benchmark (best of 3 runs per case): encodeBatches against a hand-written byte-level encoder (the baseline it
// must stay within 1.3× of), csv-stringify + encodeURIComponent on every cell, and encodeURIComponent
// alone. 500,000 rows × 10 attributes, generated from a seed. Each case runs in a child process of its own,
// so one case's heap never inflates the other's peak RSS.
//
//   node_modules/.bin/esbuild bench/encode.ts --bundle --platform=node --format=esm \
//     --outfile=node_modules/.cache/bench/encode.mjs --log-level=warning \
//   && node --expose-gc node_modules/.cache/bench/encode.mjs [rows]
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { stringify } from "csv-stringify/sync";
import { encodeBatches } from "../src/bulk/encode-batches.js";
import type { ProfileUpdate } from "../src/profile-update.js";
import { seededRandom } from "../test/seeded-random.js";
import { CITIES, COLUMNS, NAMES, NOTES, SEGMENTS, TIERS } from "./sample-attributes.js";

// With node --expose-gc.
const gc = (globalThis as { gc?: () => void }).gc;

const CASES = {
  encodeBatches: runEncodeBatches,
  "byte-level": runByteLevel,
  "csv-stringify": runCsvStringify,
  "encoding only": runEncodingOnly,
} as const;
type CaseName = keyof typeof CASES;
const MB = 1024 * 1024;

// Each case runs this many times in its process; the fastest run counts (the machine may be shared),
// and the first run's peak RSS (before anything was reused).
const RUNS = 3;

/** One case, in this process: prints a line for people, then one of JSON for the parent. */
function runCase(name: CaseName, count: number): void {
  const rows = generateRows(count);
  let seconds = Number.POSITIVE_INFINITY;
  let measured: { baseline: number; peak: number; output: Output } | undefined;
  for (let run = 0; run < RUNS; run++) {
    gc?.();
    const baseline = process.memoryUsage().rss;
    const resetPeak = resetPeakRss();
    const start = performance.now();
    const output = CASES[name](rows);
    seconds = Math.min(seconds, (performance.now() - start) / 1000);
    measured ??= { baseline, peak: peakRss(resetPeak), output };
  }
  const { baseline, peak, output } = measured!;
  const { bytes, files, largest } = output;
  const above = peak - baseline;
  console.log(
    [
      name.padEnd(14),
      `${Math.round(count / seconds).toLocaleString("en-US")} rows/s`.padStart(16),
      `${(bytes / MB / seconds).toFixed(1)} MB/s`.padStart(11),
      `${seconds.toFixed(2)} s`.padStart(8),
      `${files} file(s), ${(bytes / MB).toFixed(1)} MB, largest ${(largest / MB).toFixed(1)} MB`.padEnd(40),
      `peak RSS ${(peak / MB).toFixed(0)} MB (+${(above / MB).toFixed(0)} MB over ${(baseline / MB).toFixed(0)} MB${largest ? ` = ${(above / largest).toFixed(2)}× largest` : ""})`,
    ].join("  "),
  );
  console.log(JSON.stringify({ seconds, above, largest }));
}

interface Output {
  bytes: number;
  files: number;
  largest: number;
}

function runEncodeBatches(rows: readonly ProfileUpdate[]): Output {
  const output = { bytes: 0, files: 0, largest: 0 };
  for (const file of encodeBatches(rows)) {
    output.bytes += file.bytes;
    output.files++;
    output.largest = Math.max(output.largest, file.bytes);
  }
  return output;
}

// The baseline: the same cells (every one URL-encoded), one CSV for all rows, no checks, no merging, no limits.
function runCsvStringify(rows: readonly ProfileUpdate[]): Output {
  const records = rows.map((row) => [
    encodeURIComponent(row.mbox3rdPartyId ?? row.mboxPC ?? ""),
    ...COLUMNS.map((name) => {
      const value = row.attributes[name];
      return value === null || value === undefined ? "" : encodeURIComponent(String(value));
    }),
  ]);
  const body = stringify(records, { record_delimiter: "\n" });
  return { bytes: body.length, files: 1, largest: body.length };
}

// The baseline: the same body bytes (one file, columns known in advance, no checks, no merging, no
// limits), written straight as UTF-8 into one preallocated buffer through a lookup table, decoded once.
function runByteLevel(rows: readonly ProfileUpdate[]): Output {
  const bytes = new Uint8Array(256 * rows.length + 1024);
  let at = 0;
  for (const char of `batch=thirdPartyId,${COLUMNS.join(",")}`) bytes[at++] = char.charCodeAt(0);
  for (const row of rows) {
    bytes[at++] = 0x0a;
    at = percentEncodeBytes(row.mbox3rdPartyId ?? row.mboxPC ?? "", bytes, at);
    for (const name of COLUMNS) {
      bytes[at++] = 0x2c;
      const value = row.attributes[name];
      if (value !== null && value !== undefined) at = percentEncodeBytes(String(value), bytes, at);
    }
  }
  const body = new TextDecoder().decode(bytes.subarray(0, at));
  return { bytes: body.length, files: 1, largest: body.length };
}

// encodeURIComponent's output for each byte of UTF-8: the byte itself, or %XX.
const KEEP = new Uint8Array(128);
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
  KEEP[char.charCodeAt(0)] = 1;
const HEX_DIGITS = Uint8Array.from("0123456789ABCDEF", (char) => char.charCodeAt(0));

function percentEncodeBytes(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      if (KEEP[code] === 1) out[at++] = code;
      else at = escapeByte(code, out, at);
    } else if (code < 0x800) {
      at = escapeByte(0xc0 | (code >> 6), out, at);
      at = escapeByte(0x80 | (code & 0x3f), out, at);
    } else if (code < 0xd800 || code > 0xdfff) {
      at = escapeByte(0xe0 | (code >> 12), out, at);
      at = escapeByte(0x80 | ((code >> 6) & 0x3f), out, at);
      at = escapeByte(0x80 | (code & 0x3f), out, at);
    } else {
      code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      at = escapeByte(0xf0 | (code >> 18), out, at);
      at = escapeByte(0x80 | ((code >> 12) & 0x3f), out, at);
      at = escapeByte(0x80 | ((code >> 6) & 0x3f), out, at);
      at = escapeByte(0x80 | (code & 0x3f), out, at);
    }
  }
  return at;
}

function escapeByte(byte: number, out: Uint8Array, at: number): number {
  out[at] = 0x25;
  out[at + 1] = HEX_DIGITS[byte >> 4]!;
  out[at + 2] = HEX_DIGITS[byte & 0xf]!;
  return at + 3;
}

// The floor: encodeURIComponent on every id and value, nothing kept.
function runEncodingOnly(rows: readonly ProfileUpdate[]): Output {
  let bytes = 0;
  for (const row of rows) {
    bytes += encodeURIComponent(row.mbox3rdPartyId ?? row.mboxPC ?? "").length + 1;
    for (const name of COLUMNS) {
      const value = row.attributes[name];
      bytes += 1 + (value === null || value === undefined ? 0 : encodeURIComponent(String(value)).length);
    }
  }
  return { bytes, files: 0, largest: 0 };
}

// Peak RSS since the reset: Linux lets a process reset its high-water mark; elsewhere, the whole run's.
function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function peakRss(wasReset: boolean): number {
  if (wasReset) {
    const kb = /VmHWM:\s*(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb) return Number(kb) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}

// ── data ───────────────────────────────────────────────────────────────────────────────────────

/** Mostly customer ids, 5% Target visitor ids, 1% repeats of an earlier id (merged). */
function generateRows(count: number): ProfileUpdate[] {
  const random = seededRandom(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const date = () => new Date(Date.UTC(2015, 0, 1) + Math.floor(random() * 3e11)).toISOString();
  const rows: ProfileUpdate[] = [];
  for (let index = 0; index < count; index++) {
    const attributes = {
      tier: pick(TIERS),
      ltv: Math.floor(random() * 100_000),
      score: Math.round(random() * 10_000) / 100,
      optIn: random() < 0.5,
      signedUpAt: date(),
      lastPurchase: date().slice(0, 10),
      city: pick(CITIES),
      firstName: pick(NAMES),
      segment: pick(SEGMENTS),
      note: random() < 0.2 ? null : pick(NOTES),
    };
    const roll = random();
    if (roll < 0.05) {
      rows.push({ mboxPC: `${1368007744041 + index}-${Math.floor(random() * 1e6)}.01_00`, attributes });
    } else {
      const customer = roll < 0.06 && index > 0 ? Math.floor(random() * index) : index;
      rows.push({ mbox3rdPartyId: `crm-${customer}`, attributes });
    }
  }
  return rows;
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────

const [, script = "", caseName, rowArg] = process.argv;
if (caseName && caseName in CASES) {
  runCase(caseName as CaseName, Number(rowArg));
} else if (caseName === "compare") {
  // The ratio that counts: encodeBatches and the byte-level baseline alternately in one process, best
  // of 5 by CPU time (wall times of separate processes swing with whatever else the machine runs).
  const rows = generateRows(Number(rowArg) || 500_000);
  const best = { encodeBatches: Number.POSITIVE_INFINITY, "byte-level": Number.POSITIVE_INFINITY };
  for (let run = 0; run < 5; run++) {
    for (const name of ["encodeBatches", "byte-level"] as const) {
      gc?.();
      // CPU time, not wall time: steadier on a shared machine.
      const start = process.cpuUsage();
      CASES[name](rows);
      const { user, system } = process.cpuUsage(start);
      best[name] = Math.min(best[name], (user + system) / 1000);
    }
  }
  console.log(
    `CPU time: encodeBatches ${best.encodeBatches.toFixed(0)} ms, byte-level ${best["byte-level"].toFixed(0)} ms: ${(best.encodeBatches / best["byte-level"]).toFixed(2)}×`,
  );
} else {
  // Parent: one child per case, same seed and row count.
  const rows = Number(caseName) || 500_000;
  if (!gc) console.warn("run with node --expose-gc for a clean RSS baseline");
  console.log(`${rows.toLocaleString("en-US")} rows × 10 attributes, node ${process.version}, 1 MB = 2^20 bytes`);
  const results: Record<string, { seconds: number; above: number; largest: number }> = {};
  for (const name of Object.keys(CASES)) {
    const child = spawnSync(process.execPath, [...process.execArgv, script, name, String(rows)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line, json = "{}"] = child.stdout.trim().split("\n");
    if (child.status !== 0) throw new Error(`${name} failed (${child.status})`);
    console.log(line);
    results[name] = JSON.parse(json);
  }
  const ours = results.encodeBatches!;
  const compared = spawnSync(process.execPath, [...process.execArgv, script, "compare", String(rows)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (compared.status !== 0) throw new Error(`compare failed (${compared.status})`);
  console.log(`${compared.stdout.trim()} (alternating in one process, best of 5; aim: at most 1.3×)`);
  console.log(
    `encodeBatches (wall, own process): ${(ours.seconds / results["byte-level"]!.seconds).toFixed(2)}× the time of the byte-level baseline, ` +
      `${(results["csv-stringify"]!.seconds / ours.seconds).toFixed(1)}× csv-stringify's throughput, ` +
      `${(ours.seconds / results["encoding only"]!.seconds).toFixed(1)}× the time of encodeURIComponent alone, ` +
      `peak RSS ${(ours.above / ours.largest).toFixed(2)}× its largest file`,
  );
}
