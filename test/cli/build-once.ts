// Vitest global set-up: the command line tests run the built bin, so build it when dist/cli is
// missing or older than any source (npm test builds first; a focused run may not have).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const bin = join(root, "dist/cli/index.js");
  const sources = Math.max(newest(join(root, "src")), newest(join(root, "cli")));
  if (existsSync(bin) && statSync(bin).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.cli.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
