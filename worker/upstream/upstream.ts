import {
  createTargetClient,
  type RealtimeSessionStore,
  type TargetClient,
  type TargetClientOptions,
} from "../../src/index.js";
import { localEmulator, type LocalEmulator } from "./local-emulator.js";

/** Where updates go: Adobe Target itself, or (local runs only) the built-in emulator. */
export interface UpstreamSettings {
  readonly upstream: "target" | "emulator";
  readonly clientCode: string;
  readonly token: string | undefined;
  /** The core client's retry policy, as configured (the core checks it). */
  readonly retry: unknown;
  /** Milliseconds each attempt may take (the core's default when undefined). */
  readonly timeout: number | undefined;
  /** Profiles the emulator starts with (Target's single update never creates one). */
  readonly seed: readonly string[];
  /** Where real-time writes keep visitors' sessions (the client's own memory when undefined). */
  readonly sessionStore?: RealtimeSessionStore | undefined;
}

export interface Upstream {
  /** For the routes: the core's retries ride out brief failures while the caller waits. */
  readonly target: TargetClient;
  /**
   * For queued deliveries: no retries of its own. The queue retries instead, with backoff, and
   * each call is then exactly one call of Target's bulk budget (objects/target-quotas.ts).
   */
  readonly deliveryTarget: TargetClient;
  /** The local emulator, when it is the upstream. */
  readonly emulator: LocalEmulator | undefined;
}

/**
 * The Target clients the relay forwards with. Their host is `https://CLIENTCODE.tt.omtrdc.net`,
 * fixed here: nothing a caller sends reaches the options, and ids only ever go through the core's
 * encoding. Throws the core's `TargetValidationError` for a bad client code, retry policy or timeout.
 */
export function createUpstream(settings: UpstreamSettings): Upstream {
  const { clientCode, token, retry, timeout } = settings;
  const emulator = settings.upstream === "emulator" ? localEmulator(settings) : undefined;
  const options: TargetClientOptions = {
    clientCode,
    ...(token ? { token } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(emulator ? { fetch: emulator.fetch } : {}),
    ...(settings.sessionStore ? { sessionStore: settings.sessionStore } : {}),
  };
  return {
    target: createTargetClient({
      ...options,
      ...(retry !== undefined ? { retry: retry as TargetClientOptions["retry"] } : {}),
    }),
    deliveryTarget: createTargetClient({ ...options, retry: 0 }),
    emulator,
  };
}
