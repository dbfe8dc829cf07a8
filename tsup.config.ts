import { defineConfig } from "tsup";

// Two public entry points (see package.json "exports"): the core and the emulator.
// ESM only, platform-neutral (browsers, Workers, Deno, Bun, Node); dependencies (ky, valibot)
// stay external, so users dedupe them and tree-shake valibot themselves.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    "emulator/index": "src/emulator/index.ts",
  },
  format: ["esm"],
  outExtension: () => ({ js: ".js", dts: ".d.ts" }),
  dts: true,
  target: "es2022",
  platform: "neutral",
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  minify: false,
  outDir: "dist",
  external: ["ky", "valibot"],
});
