// What every vitest configuration of this repo shares: the root one (vitest.config.ts) and the
// runtimes one (test/runtimes/vitest.config.ts), which must not load the root's browser set-up.

/** Absolute path of a file in this repo. */
const here = (path: string) => decodeURIComponent(new URL(path, import.meta.url).pathname);

export const shared = {
  // Tests, examples and the Worker may import the package by name, as users do; that resolves to
  // the sources here (tsconfig.json "paths" does the same for tsc), never to a stale dist/.
  resolve: {
    alias: [
      { find: /^target-profile\/emulator$/, replacement: here("./src/emulator/index.ts") },
      { find: /^target-profile$/, replacement: here("./src/index.ts") },
    ],
  },
  test: {
    testTimeout: 10_000,
    hookTimeout: 10_000,
    restoreMocks: true,
    unstubGlobals: true,
  },
};
