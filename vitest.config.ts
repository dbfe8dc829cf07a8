import { existsSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { shared } from "./vitest.shared.js";

/**
 * One suite of isomorphic core tests (`test/core/**`), run unchanged in three runtimes:
 *   node     – plain Node (+ Node-only tests in `test/node/**`, + type tests `test/**\/*.test-d.ts`)
 *   workers  – inside workerd via @cloudflare/vitest-pool-workers (no main Worker)
 *   browser  – headless Chromium via @vitest/browser-playwright (never a Playwright download: see chromiumPath)
 *
 *   npx vitest run                     all projects
 *   npx vitest run --project workers   one project (also: npm run test:node|test:workers|test:browser)
 */

const CORE_TESTS = "test/core/**/*.test.ts";

/** Workers runtime pinned for every workerd project (the relay's wrangler.toml should use the same). */
const COMPATIBILITY_DATE = "2025-09-01";

/** Pre-bundled once for the browser so Vite never re-optimises (and reloads the page) mid-run. */
const BROWSER_DEPS = ["ky", "valibot", "fast-check"];

/**
 * The Chromium the browser project drives: `$CHROMIUM_PATH` when set (it must exist), else Debian's
 * `/usr/bin/chromium`, else the one shipped inside the `@sparticuz/chromium` npm package (unpacked
 * to /tmp on first use), so `npm ci && npm test` needs nothing but Node and npm. Never a silent skip:
 * a browser that cannot be found fails the run.
 */
async function chromiumPath(): Promise<string> {
  const given = process.env["CHROMIUM_PATH"];
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH is set but ${given} does not exist`);
    return given;
  }
  if (existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
  const { default: chromium } = await import("@sparticuz/chromium");
  return chromium.executablePath();
}

export default defineConfig({
  resolve: shared.resolve,
  test: {
    // Inherited by every project below (`extends: true`).
    ...shared.test,
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: [CORE_TESTS, "test/node/**/*.test.ts", "test/cli/**/*.test.ts"],
          // The command line tests run the built bin: built here when missing or stale.
          globalSetup: ["test/cli/build-once.ts"],
          // Type tests (expectTypeOf/assertType in *.test-d.ts) run through tsc with this project,
          // reported per assertion; `npm run test:types` runs only them. (`npm run typecheck`
          // checks the same files too, since tsconfig.json includes test/**.)
          typecheck: {
            enabled: true,
            include: ["test/**/*.test-d.ts"],
            tsconfig: "./tsconfig.json",
          },
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest({
            // No `main`: the core tests are plain modules; nothing is bound.
            // The pool itself adds `nodejs_compat_v2` (+ the node:* modules Vitest needs) to the
            // runner worker, so no compatibility flag is required here.
            remoteBindings: false,
            miniflare: {
              compatibilityDate: COMPATIBILITY_DATE,
            },
          }),
        ],
        test: {
          name: "workers",
          include: [CORE_TESTS],
          // Each isolated file would get its own Miniflare + workerd process (~1.5 s per file on
          // 2 cores); sharing one runner across files makes the project ~8x faster. Files then
          // share module state: a test that installs fake timers / stubs must undo them
          // (restoreMocks + unstubGlobals above cover mocks and stubGlobal; call
          // `vi.useRealTimers()` in afterEach yourself). `--isolate` on the CLI turns it back on.
          isolate: false,
        },
      },
      {
        extends: true,
        optimizeDeps: { include: BROWSER_DEPS },
        test: {
          name: "browser",
          include: [CORE_TESTS],
          testTimeout: 15_000,
          browser: {
            enabled: true,
            headless: true,
            // One instance, one browser; never a Playwright download.
            provider: playwright({
              launchOptions: {
                executablePath: await chromiumPath(),
                args: [
                  "--headless",
                  "--no-sandbox",
                  "--disable-gpu",
                  "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update",
                  "--disable-sync",
                ],
              },
            }),
            instances: [{ browser: "chromium" }],
            screenshotFailures: false,
          },
        },
      },
      // ── relay (4th project) ────────────────────────────────────────────────────────────────
      // The Cloudflare Worker in worker/index.ts, configured by ./wrangler.toml: its `main`,
      // `compatibility_date`, `[vars]`, queues and Durable Objects (SQLite, with their migration)
      // are read from there; `miniflare` below overrides/extends them for tests.
      // Tests use
      //   import { env, exports } from "cloudflare:workers";   // exports.default.fetch(request)
      //   import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
      // Each test file gets its own runtime, so its own queues and Durable Object storage.
      // Queue consumers run in the test's isolate: a `vi.spyOn(globalThis, "fetch")` reaches them.
      // Types: worker/env.ts declares `Cloudflare.Env`, test/worker/helpers.ts `GlobalProps.mainModule`;
      // tsconfig.worker.json covers worker/ and test/worker/.
      {
        extends: true,
        plugins: [
          cloudflareTest({
            remoteBindings: false,
            wrangler: { configPath: "./wrangler.toml" },
            // The production config (wrangler.toml's top level) plus test secrets. The values are
            // canaries: test/worker/log-redaction.test.ts proves none of them is ever logged.
            miniflare: {
              bindings: {
                TARGET_TOKEN: "canary-target-token-5f3a9c1e",
                RELAY_KEYS: JSON.stringify([
                  { name: "test-writer", key: "canary-write-key-0b8e4f2a7c9d1e3f5a6b", scope: "write" },
                  { name: "test-reader", key: "canary-read-key-6d2c8a4e0f1b3d5c7e9a", scope: "read" },
                  { name: "test-admin", key: "canary-admin-key-1a3c5e7b9d2f4a6c8e0b", scope: "read write admin" },
                ]),
                // Retries in milliseconds, not seconds.
                TARGET_RETRY: { limit: 2, baseDelay: 1, maxDelay: 2 },
              },
              // A tight limit for the rate-limit test (the relay's own binding allows 600 a minute).
              ratelimits: { TEST_TIGHT_RATE_LIMIT: { simple: { limit: 2, period: 60 } } },
              // wrangler.toml's consumers, with short batch timeouts: test/worker/local-queue.test.ts
              // waits for the real local queues. (Retries keep their delays: that test has no faults.)
              queueConsumers: {
                "target-profile-updates": {
                  maxBatchSize: 100,
                  maxBatchTimeout: 0.05,
                  maxRetries: 5,
                  deadLetterQueue: "target-profile-dead-letters",
                },
                "target-profile-deliveries": {
                  maxBatchSize: 100,
                  maxBatchTimeout: 0.05,
                  maxRetries: 10,
                  deadLetterQueue: "target-profile-dead-letters",
                },
                "target-profile-dead-letters": {
                  maxBatchSize: 100,
                  maxBatchTimeout: 0.05,
                  maxRetries: 100,
                  deadLetterQueue: "target-profile-dead-letters-overflow",
                },
              },
            },
          }),
        ],
        test: {
          name: "relay",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["test/worker/setup.ts"],
        },
      },
    ],
  },
});
