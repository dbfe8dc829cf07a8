import { defineConfig } from "vitest/config";
import { shared } from "../../vitest.shared.js";

/**
 * The isomorphic core suite (`test/core/**`), run by `npm run test:runtimes` (scripts/runtimes.mjs)
 * under Node 22 and 24, Deno 2 and Bun 1 — vitest itself running on each of them, its test workers
 * forked with the same binary.
 *
 * Everything but the project list comes from vitest.shared.ts, as for the root config (the
 * `target-profile` aliases, timeouts, mock restoring), so the files run exactly as in the root `node`
 * project. Not loaded by `npm test`:
 * the root config lists its projects inline and knows nothing of this file.
 *
 * `test/runtimes/runtime.test.ts` runs beside them and checks that its worker really is the runtime
 * the script asked for (TARGET_PROFILE_RUNTIME), so a runtime that silently hands the work to the
 * machine's Node fails instead of passing.
 */
export default defineConfig({
  root: decodeURIComponent(new URL("../..", import.meta.url).pathname),
  resolve: shared.resolve,
  test: {
    ...shared.test,
    name: "runtimes",
    environment: "node",
    include: ["test/core/**/*.test.ts", "test/runtimes/**/*.test.ts"],
    // Types are checked once, by `npm test`; here only what runs.
    typecheck: { enabled: false },
  },
});
