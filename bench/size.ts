// Size budget and tree-shaking check: `npm run size` (CI runs it). `npm run size -- --write` also
// rewrites docs/size.md.
//
// Each case is what a user's bundler makes of one import from the built package: esbuild --bundle
// --minify --tree-shaking --format=esm --platform=neutral from dist/, dependencies (ky, valibot)
// included, then gzip level 9 (node:zlib). Budgets are in gzipped bytes, set at 110% of what was
// measured: a regression of more than 10% fails. `@adobe/target-nodejs-sdk`, bundled the same way
// (platform node: it is CommonJS for Node), is printed beside them as the reference users know.
//
// Tree-shaking is checked on the same bundles, through their source maps: esbuild follows dist's
// maps back to src/*.ts and ky's sources, so every byte of a minified bundle is attributed to the
// original file it came from. `buildUpdateRequest` alone and `encodeBatches` alone must hold no byte
// of the emulator, ky, the HTTP layer, the rolling limiter or the bulk client, and no "submitBatch"
// operation; positive controls (the same files and string ARE found in the client's bundle, the
// emulator's files in the emulator's) make sure the attribution itself works.
//
//   npm run size [-- --write]
import { existsSync, writeFileSync } from "node:fs";
import process from "node:process";
import { gzipSync } from "node:zlib";
import { build, type BuildOptions, type Metafile } from "esbuild";

// Run from its bundle in node_modules/.cache/bench/ (npm run size) or from bench/: the repo is above either.
const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const REPO = HERE.includes("/node_modules/")
  ? HERE.replace(/\/node_modules\/.*$/, "")
  : HERE.replace(/\/bench\/?$/, "");
const WRITE = process.argv.includes("--write");

interface Case {
  readonly name: string;
  /** What the case's entry imports, as a user would write it. */
  readonly imports: string;
  /** The entry module, resolved from the repo root. */
  readonly entry: string;
  /** Gzipped bytes; undefined for the reference. */
  readonly budget?: number;
  readonly platform?: BuildOptions["platform"];
}

// Budgets: measured (gzip -9) on 2026-12-01 × 1.10, rounded up. Re-baseline with care: a budget
// raised more than the change needs hides the next regression.
const CASES: readonly Case[] = [
  {
    name: "whole core",
    imports: `export * from "target-profile"`,
    entry: `export * from "./dist/index.js";`,
    // Raised by what issue 13 added (+728 B: older answers read, TargetQuotaError, usesEcid), then by
    // issue 11's (the CSV and NDJSON row sources, checkProfileUpdate, bulkUpdate's invalid rows,
    // progress and checkpoints, network failure kinds), then by issue 12's real-time path
    // (updateProfileRealtime, buildDeliveryRequest, parseDeliveryResponse, the session store and
    // gate, edge hosts, the relay answer's `via`), then by issue 11's speed and memory work (the
    // encoder's one-pass path for plain updates, streamed uploads from two alternating buffers):
    // measured 29,020 B × 1.10.
    budget: 31_930,
  },
  {
    name: "updateProfile alone",
    imports: `createTargetClient(…).updateProfile(…)`,
    entry: `import { createTargetClient } from "./dist/index.js";\nexport const update = (options, row) => createTargetClient(options).updateProfile(row);`,
    // Issue 11: the client's bulkUpdate takes source rows, invalid rows, checkpoints; issue 12: the client
    // holds updateProfileRealtime, with its sessions and edge hosts (measured 20,292 B × 1.10).
    budget: 22_330,
  },
  {
    name: "encodeBatches alone",
    imports: `import { encodeBatches } from "target-profile"`,
    entry: `export { encodeBatches } from "./dist/index.js";`,
    // Issue 11: the padding bound, input positions, clear errors for what is not a sequence of rows;
    // then its speed work, the one-pass path for plain updates (measured 8,410 B × 1.10).
    budget: 9_260,
  },
  {
    name: "buildUpdateRequest alone",
    imports: `import { buildUpdateRequest } from "target-profile"`,
    entry: `export { buildUpdateRequest } from "./dist/index.js";`,
    budget: 5_340,
  },
  {
    name: "buildDeliveryRequest alone",
    imports: `import { buildDeliveryRequest } from "target-profile"`,
    entry: `export { buildDeliveryRequest } from "./dist/index.js";`,
    // Issue 12 (measured 4,757 B × 1.10).
    budget: 5_240,
  },
  {
    name: "emulator",
    imports: `import { createTargetEmulator } from "target-profile/emulator"`,
    entry: `export * from "./dist/emulator/index.js";`,
    // Re-baselined for issue 13 (visibility delays, daily quotas, kept statuses, consecutive batches),
    // then for issue 12 (the Delivery API, its validation and session counts), then for issue 11's speed
    // (batch bodies read as bytes where they lie, escapes decoded by hand, attributes kept as layers:
    // +2,362 B), then again for it (a batch checked as it arrives and its rows tabled, profiles found
    // through an id index, rows applied in slices: measured 11,058 B × 1.10).
    budget: 12_170,
  },
];

const REFERENCE: Case = {
  name: "@adobe/target-nodejs-sdk 2.4.3 (reference)",
  imports: `import TargetClient from "@adobe/target-nodejs-sdk"`,
  entry: `export { default } from "@adobe/target-nodejs-sdk";`,
  platform: "node",
};

/** What must not be in a single-function bundle, and the case that proves each rule can see it. */
const FORBIDDEN = [
  { what: "the emulator", source: /^src\/emulator\//, control: "emulator" },
  { what: "ky", source: /^node_modules\/ky\//, control: "updateProfile alone" },
  { what: "the rolling limiter", source: /^src\/client\/rolling-limiter\.ts$/, control: "updateProfile alone" },
  {
    what: "the bulk client (bulk-update, wait-for-batch)",
    source: /^src\/bulk\/(bulk-update|wait-for-batch)\.ts$/,
    control: "updateProfile alone",
  },
  { what: 'submitBatch (its "submitBatch" operation)', text: `"submitBatch"`, control: "updateProfile alone" },
] as const satisfies readonly { what: string; source?: RegExp; text?: string; control: string }[];
const SHAKEN = ["buildUpdateRequest alone", "encodeBatches alone", "buildDeliveryRequest alone"];

/**
 * The same single imports bundled from src/: the modules they really use. dist/ is one module per
 * source file and `sideEffects: false` lets a bundler drop the rest, so a dist/ bundle holding code of
 * any other module fails (a top-level call such as `v.object(…)` in a shared module would keep it).
 */
const FROM_SOURCES: Record<string, string> = {
  "buildUpdateRequest alone": `export { buildUpdateRequest } from "./src/index.ts";`,
  "encodeBatches alone": `export { encodeBatches } from "./src/index.ts";`,
  "buildDeliveryRequest alone": `export { buildDeliveryRequest } from "./src/index.ts";`,
};

interface Measured {
  readonly case: Case;
  readonly code: string;
  readonly minified: number;
  readonly gzipped: number;
  /** Minified bytes per original file (`src/…`, `node_modules/ky/…`, `(esbuild)`). */
  readonly bySource: Map<string, number>;
  readonly metafile: Metafile;
}

async function measure(item: Case): Promise<Measured> {
  const outfile = `${REPO}/.size/out.js`;
  const result = await build({
    stdin: { contents: item.entry, resolveDir: REPO, sourcefile: "entry.ts", loader: "ts" },
    bundle: true,
    minify: true,
    treeShaking: true,
    format: "esm",
    platform: item.platform ?? "neutral",
    target: "es2022",
    write: false,
    absWorkingDir: REPO,
    outfile,
    metafile: true,
    sourcemap: "external",
    sourcesContent: false,
    logLevel: "error",
  });
  const code = result.outputFiles.find((file) => file.path === outfile)?.text ?? "";
  const mapText = result.outputFiles.find((file) => file.path === `${outfile}.map`)?.text ?? "{}";
  const minified = new TextEncoder().encode(code).length;
  const gzipped = gzipSync(new TextEncoder().encode(code), { level: 9 }).length;
  return {
    case: item,
    code,
    minified,
    gzipped,
    bySource: attribute(code, JSON.parse(mapText), `${REPO}/.size`),
    metafile: result.metafile,
  };
}

/** The inputs of the bundle's JS output (not of its .map), with the bytes each left in it. */
function inputsOf(metafile: Metafile): [string, number][] {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(".js"))?.[1];
  if (!output) throw new Error("esbuild reported no JS output");
  return Object.entries(output.inputs).map(([path, input]) => [path, input.bytesInOutput]);
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Splits the generated code among the original sources its source map names, segment by segment. */
function attribute(code: string, map: { sources?: string[]; mappings?: string }, outdir: string): Map<string, number> {
  const sources = (map.sources ?? []).map((source) => repoPath(`${outdir}/${source}`));
  const totals = new Map<string, number>();
  const add = (key: string, bytes: number) => bytes > 0 && totals.set(key, (totals.get(key) ?? 0) + bytes);
  const lines = code.split("\n");
  const mappedLines = (map.mappings ?? "").split(";");
  let source = 0;
  lines.forEach((line, index) => {
    const segments: { column: number; source: number | undefined }[] = [];
    let column = 0;
    for (const segment of (mappedLines[index] ?? "").split(",")) {
      if (!segment) continue;
      const fields = decodeVlq(segment);
      column += fields[0] ?? 0;
      if (fields.length >= 4) source += fields[1] ?? 0;
      segments.push({ column, source: fields.length >= 4 ? source : undefined });
    }
    add("(esbuild helpers)", Math.min(segments[0]?.column ?? line.length, line.length));
    segments.forEach((segment, at) => {
      const end = segments[at + 1]?.column ?? line.length;
      add(
        segment.source === undefined ? "(esbuild helpers)" : (sources[segment.source] ?? "(unknown)"),
        end - segment.column,
      );
    });
    add("(esbuild helpers)", index < lines.length - 1 ? 1 : 0); // the newline
  });
  return totals;
}

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return values;
}

/** `/repo/.size/../src/x.ts` → `src/x.ts`. */
function repoPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  const absolute = `/${parts.join("/")}`;
  return absolute.startsWith(`${REPO}/`) ? absolute.slice(REPO.length + 1) : absolute;
}

/** The package a source belongs to, or its src/ path. */
const group = (source: string) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1] ?? source;

const B = (bytes: number) => bytes.toLocaleString("en-US");
const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

// ─── run ──────────────────────────────────────────────────────────────────────────────────────────
if (!existsSync(`${REPO}/dist/index.js`) || !existsSync(`${REPO}/dist/emulator/index.js`)) {
  throw new Error("dist/ is missing: npm run build first (npm run size does)");
}
const results = new Map<string, Measured>();
for (const item of CASES) results.set(item.name, await measure(item));
const reference = await measure(REFERENCE);
const problems: string[] = [];

// Sizes and budgets.
const table = [
  "| bundle (esbuild --minify, deps included) | import | minified | min + gzip -9 | budget (gzip) | |",
  "| --- | --- | ---: | ---: | ---: | --- |",
];
for (const result of results.values()) {
  const { budget = 0 } = result.case;
  const suggestion = Math.ceil((result.gzipped * 1.1) / 10) * 10;
  let status = "ok";
  if (budget <= 0) {
    status = `no budget (suggest ${B(suggestion)})`;
    problems.push(
      `${result.case.name}: no budget set; measured ${B(result.gzipped)} B gzipped, budget would be ${B(suggestion)}`,
    );
  } else if (result.gzipped > budget) {
    status = `**over budget by ${B(result.gzipped - budget)} B**`;
    problems.push(`${result.case.name}: ${B(result.gzipped)} B gzipped is over its budget of ${B(budget)} B`);
  } else if (result.gzipped * 1.1 < budget * 0.95) {
    status = `ok (budget could be ${B(suggestion)})`;
  }
  table.push(
    `| ${result.case.name} | \`${result.case.imports}\` | ${kB(result.minified)} | **${kB(result.gzipped)}** (${B(result.gzipped)} B) | ${budget > 0 ? `${B(budget)} B` : "—"} | ${status} |`,
  );
}
table.push(
  `| ${REFERENCE.name} | \`${REFERENCE.imports}\` (platform node) | ${kB(reference.minified)} | **${kB(reference.gzipped)}** (${B(reference.gzipped)} B) | — | reference |`,
);

// Tree-shaking.
const has = (result: Measured, rule: (typeof FORBIDDEN)[number]) => {
  const found: string[] = [];
  if ("source" in rule)
    for (const [source, bytes] of result.bySource)
      if (rule.source.test(source)) found.push(`${source} (${B(bytes)} B)`);
  if ("text" in rule && result.code.includes(rule.text)) found.push(`the text ${rule.text}`);
  return found;
};
const kyBytesOf = (result: Measured) =>
  inputsOf(result.metafile)
    .filter(([path]) => path.startsWith("node_modules/ky/"))
    .reduce((sum, [, bytes]) => sum + bytes, 0);
const shaking: string[] = [];
for (const rule of FORBIDDEN) {
  const control = results.get(rule.control);
  if (!control || has(control, rule).length === 0) {
    problems.push(
      `tree-shaking check is blind: ${rule.what} is not found even in the "${rule.control}" bundle (did a file move?)`,
    );
  }
}
for (const name of SHAKEN) {
  const result = results.get(name);
  if (!result) continue;
  const lines: string[] = [];
  for (const rule of FORBIDDEN) {
    const found = has(result, rule);
    lines.push(`  - ${found.length ? `✗ ${rule.what}: ${found.join(", ")}` : `✓ ${rule.what}: absent`}`);
    if (found.length) problems.push(`${name} pulls in ${rule.what}: ${found.join(", ")}`);
  }
  // ky through the metafile too: the inputs esbuild read, and how many bytes each left in the output.
  const kyBytes = kyBytesOf(result);
  lines.push(`  - metafile: ${B(kyBytes)} B of ky in the output`);
  if (kyBytes) problems.push(`${name}: the metafile shows ${B(kyBytes)} B of ky`);
  shaking.push(`- **${name}** (${kB(result.gzipped)} gzipped)\n${lines.join("\n")}`);
}
const leaks: string[] = [];
for (const [name, entry] of Object.entries(FROM_SOURCES)) {
  const fromDist = results.get(name);
  if (!fromDist) continue;
  const fromSrc = await measure({ name: `${name} (from src/)`, imports: "", entry });
  const used = new Set(
    inputsOf(fromSrc.metafile)
      .filter(([, bytes]) => bytes > 0)
      .map(([path]) => path),
  );
  const kept = [...fromDist.bySource]
    .filter(([source]) => source.startsWith("src/") && !used.has(source))
    .sort((a, b) => b[1] - a[1]);
  const keptBytes = kept.reduce((sum, [, bytes]) => sum + bytes, 0);
  leaks.push(
    `- **${name}**: ${kB(fromDist.gzipped)} gzipped from dist/, ${kB(fromSrc.gzipped)} from src/ module by module ` +
      `(${Math.round((1 - fromSrc.gzipped / fromDist.gzipped) * 100)}% less). Modules it does not use that leave code in the dist/ bundle: ` +
      (kept.length
        ? `${kept.map(([source, bytes]) => `${source} ${B(bytes)} B`).join(", ")} (${B(keptBytes)} B minified, plus the valibot they call)`
        : "none"),
  );
  // dist/ is one module per source file and the package has no side effects: nothing unused may stay.
  if (kept.length)
    problems.push(
      `${name}: unused modules leave ${B(keptBytes)} B in the bundle (${kept.map(([source]) => source).join(", ")})`,
    );
}

const control = results.get("updateProfile alone");
if (!control || kyBytesOf(control) === 0)
  problems.push("tree-shaking check is blind: the metafile shows no ky even in the updateProfile bundle");
if (control) {
  const found = FORBIDDEN.flatMap((rule) => has(control, rule).map(() => rule.what));
  shaking.push(
    `- control: **updateProfile alone** has ${[...new Set(found)].join(", ")} (metafile: ${B(kyBytesOf(control))} B of ky); **emulator** has ${B([...(results.get("emulator")?.bySource ?? [])].filter(([s]) => s.startsWith("src/emulator/")).reduce((sum, [, b]) => sum + b, 0))} B from src/emulator/`,
  );
}

// What each bundle is made of, by original file (minified bytes).
const contents: string[] = [];
for (const result of results.values()) {
  const groups = new Map<string, number>();
  for (const [source, bytes] of result.bySource) groups.set(group(source), (groups.get(group(source)) ?? 0) + bytes);
  const parts = [...groups].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => `${name} ${B(bytes)}`);
  contents.push(`- **${result.case.name}** (${B(result.minified)} B minified): ${parts.join(", ")}`);
}

const core = results.get("whole core");
const ratio = core
  ? `The whole core, dependencies included, is ${(reference.gzipped / core.gzipped).toFixed(1)}× smaller gzipped than the reference.`
  : "";
const output = [
  "## Bundle sizes",
  "",
  ...table,
  "",
  ratio,
  "",
  "## Tree-shaking (from source maps of the minified bundles)",
  "",
  ...shaking,
  "",
  "## Modules a single import does not use (must leave no code)",
  "",
  ...leaks,
  "",
  "## What each bundle holds (minified bytes by original file)",
  "",
  ...contents,
].join("\n");
console.log(output);

if (WRITE) {
  const doc = [
    "# Bundle size",
    "",
    "What a user's bundler ships for each way of importing `target-profile`, measured by `npm run size`",
    "(bench/size.ts; CI fails when a gzipped size passes its budget, set 10% above the measured size).",
    "Each row is `esbuild --bundle --minify --tree-shaking --format=esm --platform=neutral` of one import",
    "from the built `dist/`, dependencies (ky, valibot) included, then gzip level 9.",
    `The Adobe Target Node.js SDK, bundled the same way (platform node), is the reference. Measured with esbuild ${(await import("esbuild")).version}, Node ${process.versions.node}.`,
    "",
    output.replace(/^## /gm, "### ").replace(/^### Bundle sizes\n\n/, ""),
    "",
  ].join("\n");
  writeFileSync(`${REPO}/docs/size.md`, doc);
  console.log("\nwrote docs/size.md");
}

if (problems.length) {
  console.error("");
  for (const problem of problems) console.error(`size: ${problem}`);
  process.exitCode = 1;
} else {
  console.log(
    `\nsize: ${results.size} bundles within budget; tree-shaking checks passed (${SHAKEN.length} bundles × ${FORBIDDEN.length} rules)`,
  );
}
