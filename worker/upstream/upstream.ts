import {
  createTargetClient,
  type RealtimeSessionStore,
  type TargetClient,
  type TargetClientOptions,
} from "../../src/index.js";
import { localEmulator, type LocalEmulator, type LocalEmulatorSettings } from "./local-emulator.js";

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
  /** How long the emulator takes to apply accepted writes (default: at once). */
  readonly visibilityDelay?: LocalEmulatorSettings["visibilityDelay"];
  /** The emulator's reading of consecutive v2 batches (default `"merge"`). */
  readonly consecutiveBatches?: LocalEmulatorSettings["consecutiveBatches"];
  /** Where real-time writes keep visitors' sessions (the client's own memory when undefined). */
  readonly sessionStore?: RealtimeSessionStore | undefined;
}

export interface Upstream {
  /** For the routes' single updates and profile reads: the core's retries ride out brief failures. */
  readonly target: TargetClient;
  /**
   * For every bulk call (routes and queues) and queued deliveries: no retries of its own. Each bulk
   * call is then exactly one slot of the relay's bulk budget (delivery/bulk-budget.ts); the queue
   * retries its deliveries instead, with backoff.
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
