import type { Env } from "../env.js";
import { parseEnv } from "./parse-env.js";
import { buildConfig, type ConfigResult } from "./relay-config.js";

// Config is checked on first use and kept for the isolate's life (per `env` object).
const loaded = new WeakMap<object, Promise<ConfigResult>>();

/**
 * The relay's configuration, or every problem with it: the environment parsed (parse-env.ts), then
 * built into runtime objects (relay-config.ts). Problems name the var and the rule, never a value:
 * they are logged.
 */
export function loadConfig(env: Env): Promise<ConfigResult> {
  let result = loaded.get(env);
  if (result === undefined) {
    const parsed = parseEnv(env);
    result = parsed.ok ? buildConfig(parsed.settings) : Promise.resolve(parsed);
    loaded.set(env, result);
  }
  return result;
}
