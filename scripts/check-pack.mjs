#!/usr/bin/env node
// Fails unless the published tarball holds exactly what a user needs: package.json, README.md,
// LICENSE and the built dist/ (.js, .d.ts, and .js.map that stand on their own).
//
//   npm run check:pack        (after npm run build; .ci/run runs it after npm test)
//
// Checked, from `npm pack --dry-run --json` (the same file list `npm publish` would use):
//  - nothing outside the allow-list (no src/, test/, worker/, bench/, scripts/, configs, .cache/, tgz…);
//  - every path package.json points at (exports, main, types) is in the tarball, each JS entry with its .d.ts;
//  - source maps: each `//# sourceMappingURL` of a shipped file points to a shipped map, and each map
//    embeds the content of every source it names (`sourcesContent`). The maps name ../src/*.ts, which
//    is not shipped: with the content embedded they still resolve in debuggers, bundlers and
//    `node --enable-source-maps`, without src/ in the package.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^dist\/.+\.js$/,
  /^dist\/.+\.d\.ts$/,
  /^dist\/.+\.js\.map$/,
];
const REQUIRED = ["package.json", "README.md", "LICENSE"];

const problems = [];
const fail = (message) => problems.push(message);

const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"], {
  cwd: ROOT,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
const [pack] = JSON.parse(output);
const files = new Map(pack.files.map((file) => [file.path, file.size]));

for (const path of files.keys()) {
  if (!ALLOWED.some((pattern) => pattern.test(path)))
    fail(`${path} is in the package but a user does not need it (package.json "files")`);
}
for (const path of REQUIRED) if (!files.has(path)) fail(`${path} is missing from the package`);

// Every target package.json names, through any nesting of export conditions.
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const targets = new Set();
const collect = (value) => {
  if (typeof value === "string") targets.add(value);
  else if (value && typeof value === "object") Object.values(value).forEach(collect);
};
collect(manifest.exports);
collect(manifest.main);
collect(manifest.types);
collect(manifest.module);
collect(manifest.bin);
// A bin is run, never imported: it needs no declarations.
const programs = new Set(
  (typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {})).map((bin) =>
    posix.normalize(bin),
  ),
);
for (const target of targets) {
  const path = posix.normalize(target);
  if (!files.has(path))
    fail(
      `package.json points at ${target}, which is not in the package${path.startsWith("dist/") ? " (npm run build first?)" : ""}`,
    );
  if (
    path.startsWith("dist/") &&
    path.endsWith(".js") &&
    !programs.has(path) &&
    !files.has(path.replace(/\.js$/, ".d.ts"))
  )
    fail(`${path} ships without ${path.replace(/\.js$/, ".d.ts")}`);
}
if (![...files.keys()].some((path) => path.startsWith("dist/")))
  fail("the package holds no dist/: npm run build first");

// Source maps that resolve on a user's machine.
for (const path of files.keys()) {
  if (!path.endsWith(".js") && !path.endsWith(".d.ts")) continue;
  const text = readFileSync(join(ROOT, path), "utf8");
  const link = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
  if (!link || link.startsWith("data:")) continue;
  const mapPath = posix.join(posix.dirname(path), link);
  if (!files.has(mapPath)) fail(`${path} links ${link}, which is not in the package`);
}
for (const path of files.keys()) {
  if (!path.endsWith(".map")) continue;
  const map = JSON.parse(readFileSync(join(ROOT, path), "utf8"));
  map.sources.forEach((source, index) => {
    const shipped = files.has(posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? "", source)));
    if (!shipped && typeof map.sourcesContent?.[index] !== "string")
      fail(`${path} names ${source}, which is neither shipped nor embedded (sourcesContent)`);
  });
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;
console.log(`${pack.filename}: ${files.size} files, ${kb(pack.size)} packed, ${kb(pack.unpackedSize)} unpacked`);
for (const [path, size] of [...files].sort(([a], [b]) => a.localeCompare(b)))
  console.log(`  ${kb(size).padStart(9)}  ${path}`);
if (problems.length) {
  for (const problem of problems) console.error(`check-pack: ${problem}`);
  process.exit(1);
}
console.log(
  "check-pack: the package holds only package.json, README.md, LICENSE and dist/; every entry, type and source map resolves",
);
