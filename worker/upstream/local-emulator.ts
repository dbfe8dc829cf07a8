import {
  createTargetEmulator,
  type EmulatorCall,
  type TargetEmulator,
  type TargetEmulatorOptions,
} from "../../src/emulator/index.js";
import { toHex } from "../../src/internal/index.js";

/** The built-in emulator a local relay talks to (TARGET_UPSTREAM = "emulator"), with the time of each call. */
export interface LocalEmulator {
  readonly emulator: TargetEmulator;
  /** Every call, with when it started (Unix ms). */
  readonly calls: readonly { readonly at: number; readonly call: EmulatorCall }[];
  /** A fetch for the core client that goes to the emulator and records the call. */
  fetch(input: Request, init?: RequestInit): Promise<Response>;
}

export interface LocalEmulatorSettings {
  readonly clientCode: string;
  readonly token: string | undefined;
  readonly seed: readonly string[];
  /** TARGET_EMULATOR_VISIBILITY_DELAY: how long accepted writes take to be applied (default: at once). */
  readonly visibilityDelay?: TargetEmulatorOptions["visibilityDelay"] | undefined;
  /** TARGET_EMULATOR_CONSECUTIVE_BATCHES: the reading of consecutive v2 batches (default "merge"). */
  readonly consecutiveBatches?: TargetEmulatorOptions["consecutiveBatches"] | undefined;
}

// One emulator per isolate and settings: workerd may hand each request (and each queue batch) a
// fresh `env`, and a local round trip (write, then read back) needs the same profiles throughout.
const emulators = new Map<string, LocalEmulator>();

export function localEmulator(settings: LocalEmulatorSettings): LocalEmulator {
  const { clientCode, token, seed, visibilityDelay, consecutiveBatches } = settings;
  const key = JSON.stringify([clientCode, token, seed, visibilityDelay, consecutiveBatches]);
  let local = emulators.get(key);
  if (local === undefined) {
    // Batches complete at their first status check: a local run need not wait for Target's processing.
    const emulator = createTargetEmulator({
      clientCode,
      pollsUntilComplete: 0,
      ...(token ? { token } : {}),
      ...(visibilityDelay !== undefined ? { visibilityDelay } : {}),
      ...(consecutiveBatches !== undefined ? { consecutiveBatches } : {}),
    });
    for (const thirdPartyId of seed) emulator.seedProfile({ thirdPartyId });
    const calls: { at: number; call: EmulatorCall }[] = [];
    local = {
      emulator,
      calls,
      fetch(input, init) {
        const answer = emulator.fetch(input, init);
        // The emulator lists the call as soon as it is made (before answering).
        const call = emulator.calls.at(-1);
        if (call !== undefined) calls.push({ at: Date.now(), call });
        return answer;
      },
    };
    emulators.set(key, local);
    console.warn(
      JSON.stringify({
        level: "warn",
        message: 'TARGET_UPSTREAM is "emulator": updates go to an in-memory emulator, not to Adobe Target',
        seededProfiles: seed.length,
        visibilityDelay: visibilityDelay ?? "none",
        consecutiveBatches: consecutiveBatches ?? "merge",
      }),
    );
  }
  return local;
}

/**
 * What a benchmark needs to know of the emulator: counts, bulk call times, real-time sessions, and a
 * digest of every profile's attributes.
 */
export async function emulatorStats({ emulator, calls }: LocalEmulator) {
  const profiles = emulator
    .profiles()
    .filter((profile) => profile.thirdPartyId !== undefined)
    .map(
      (profile) =>
        [
          profile.thirdPartyId as string,
          Object.entries(profile.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        ] as const,
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(profiles)));
  const accepted = calls.filter(({ call }) => call.status === 200);
  const count = (operation: string) => accepted.filter(({ call }) => call.operation === operation).length;
  return {
    profiles: profiles.length,
    attributes: profiles.reduce((sum, [, attributes]) => sum + attributes.length, 0),
    /** SHA-256 (hex) of `JSON.stringify([[thirdPartyId, [[name, value], …sorted]], …sorted])`. */
    digest: toHex(digest),
    calls: {
      update: count("update"),
      fetch: count("fetch"),
      batchUpdate: count("batchUpdate"),
      batchStatus: count("batchStatus"),
      delivery: count("delivery"),
    },
    /** Real-time writes: billed calls, sessions switched or shared, the most concurrent requests of a session. */
    realtime: emulator.deliveryStats(),
    /** When each accepted bulk call (batch submission or status check) was made. */
    bulkCallTimes: accepted
      .filter(({ call }) => call.operation === "batchUpdate" || call.operation === "batchStatus")
      .map(({ at }) => at),
  };
}
