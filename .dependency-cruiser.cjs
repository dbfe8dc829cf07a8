// The layering rules `npm test` checks (`npm run lint:deps`), with dependency-cruiser:
//   - no import cycles anywhere (type-only imports count: they close cycles too);
//   - src/ (the core and the emulator) never imports worker/ or cli/;
//   - worker/ reaches the core only through its barrels: src/index.ts (the public API),
//     src/internal/index.ts (helpers not in the public API) and src/emulator/index.ts (the emulator's
//     public entry, for local runs);
//   - cli/ reaches the core only by package name ("target-profile", "target-profile/emulator"), as a user does;
//   - nothing imports the Worker entry (worker/index.ts), and no module of src/ imports a barrel;
//   - src/errors.ts and src/limits.ts are leaves: they import nothing of ours.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Import cycles make load order matter and a module impossible to read on its own.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-not-to-worker-or-cli",
      severity: "error",
      comment: "The core and the emulator are isomorphic: they never import the Worker or the command line.",
      from: { path: "^src/" },
      to: { path: "^(worker|cli)/" },
    },
    {
      name: "worker-through-barrels",
      severity: "error",
      comment:
        "The Worker uses the core like a user, through src/index.ts, or src/internal/index.ts for what is not public " +
        "(and the emulator's entry, for local runs).",
      from: { path: "^worker/" },
      to: { path: "^src/", pathNot: "^src/(index|internal/index|emulator/index)\\.ts$" },
    },
    {
      name: "cli-by-package-name",
      severity: "error",
      comment: 'The command line imports the core as a user does: "target-profile", "target-profile/emulator".',
      from: { path: "^cli/" },
      to: { path: "^src/", dependencyTypesNot: ["aliased-tsconfig-paths"] },
    },
    {
      name: "cli-only-public-entries",
      severity: "error",
      comment: "By package name, the command line reaches only the package's public entries.",
      from: { path: "^cli/" },
      to: { path: "^src/", pathNot: "^src/(index|emulator/index)\\.ts$" },
    },
    {
      name: "nothing-imports-the-worker-entry",
      severity: "error",
      comment:
        "worker/index.ts is what workerd loads; nothing imports it (tests may name its type, to type the " +
        "runtime's `exports`).",
      from: { pathNot: "^test/worker/" },
      to: { path: "^worker/index\\.ts$" },
    },
    {
      name: "worker-tests-name-the-entry-only-as-a-type",
      severity: "error",
      comment: "Tests run the Worker through the runtime's `exports`, or its handlers; the entry only as a type.",
      from: { path: "^test/worker/" },
      to: { path: "^worker/index\\.ts$", dependencyTypesNot: ["type-only", "type-import"] },
    },
    {
      name: "core-modules-not-through-barrels",
      severity: "error",
      comment: "Barrels are entries for users and the Worker; inside src/, modules import each other directly.",
      from: { path: "^src/" },
      to: { path: "^src/(index|internal/index|emulator/index)\\.ts$" },
    },
    {
      name: "leaves-stay-leaves",
      severity: "error",
      comment: "errors.ts and limits.ts import nothing of ours, so every module can import them.",
      from: { path: "^src/(errors|limits)\\.ts$" },
      to: { path: "^src/" },
    },
  ],
  options: {
    // Type-only imports are edges too: each of the two cycles the layout once had was closed by one.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|coverage|\\.wrangler|\\.cache|\\.size)/" },
    // cloudflare:workers, cloudflare:test and cloudflare:sockets are the runtime's own (node:* is built in).
    builtInModules: { add: ["cloudflare:workers", "cloudflare:test", "cloudflare:sockets"] },
  },
};
