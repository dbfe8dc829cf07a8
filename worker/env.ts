/**
 * The relay's bindings, as the runtime may hand them over: any var or secret can be missing or
 * malformed, so everything is typed loosely here and checked once by `loadConfig` (config.ts).
 */
declare global {
  namespace Cloudflare {
    interface Env {
      /** Var: the Target client code; the upstream is `https://CLIENTCODE.tt.omtrdc.net`. */
      TARGET_CLIENT_CODE?: string;
      /** Secret: the Profile API token, sent upstream as `Authorization: Bearer`. */
      TARGET_TOKEN?: string;
      /** Var, local runs only: `"emulator"` answers from the built-in emulator. Default `"target"`. */
      TARGET_UPSTREAM?: string;
      /** Var, local runs only: comma-separated mbox3rdPartyIds the emulator starts with. */
      TARGET_EMULATOR_SEED?: string;
      /** Var: the core client's retry policy (a number or `{ limit, baseDelay, maxDelay }`, or its JSON). */
      TARGET_RETRY?: unknown;
      /** Secret: JSON `[{ "name", "key", "scope": "write" | "read" | "read write" }, ...]`. */
      RELAY_KEYS?: string;
      /** Secret, optional: JSON `["secret", ...]`; when set, every request must be signed. */
      RELAY_SIGNING_SECRETS?: string;
      /** Var, optional: the attribute names callers may send (a TOML array, or comma-separated). */
      RELAY_ALLOWED_ATTRIBUTES?: string | readonly string[];
      /** Var, optional: most distinct ids one `POST /v1/profiles` may carry (default 10,000). */
      RELAY_MAX_BATCH_ROWS?: string | number;
      /** `[[ratelimits]]` binding, keyed by the caller's key name. */
      RELAY_RATE_LIMIT?: RateLimit;
    }
    interface GlobalProps {
      mainModule: typeof import("./index.js");
    }
  }
}

export type Env = Cloudflare.Env;
