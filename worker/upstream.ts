import { createTargetEmulator, type TargetEmulator } from "../src/emulator/index.js";
import { createTargetClient, type TargetClient, type TargetClientOptions } from "../src/index.js";

/** Where updates go: Adobe Target itself, or (local runs only) the built-in emulator. */
export interface UpstreamSettings {
  readonly upstream: "target" | "emulator";
  readonly clientCode: string;
  readonly token: string | undefined;
  /** The core client's retry policy, as configured (the core checks it). */
  readonly retry: unknown;
  /** Profiles the emulator starts with (Target's single update never creates one). */
  readonly seed: readonly string[];
}

/**
 * The Target client the relay forwards with. Its host is `https://CLIENTCODE.tt.omtrdc.net`, fixed
 * here: nothing a caller sends reaches the options, and ids only ever go through the core's encoding.
 * Throws the core's `TargetValidationError` for a bad client code or retry policy.
 */
export function createUpstream(settings: UpstreamSettings): TargetClient {
  const { clientCode, token, retry } = settings;
  const options = {
    clientCode,
    ...(token ? { token } : {}),
    ...(retry !== undefined ? { retry: retry as TargetClientOptions["retry"] } : {}),
  };
  if (settings.upstream === "target") return createTargetClient(options);
  return createTargetClient({ ...options, fetch: localEmulator(settings).fetch });
}

// One emulator per isolate and settings: workerd may hand each request a fresh `env`, and a local
// round trip (write, then read back) needs the same profiles on both requests.
const emulators = new Map<string, TargetEmulator>();

function localEmulator({ clientCode, token, seed }: UpstreamSettings): TargetEmulator {
  const id = JSON.stringify([clientCode, token, seed]);
  let emulator = emulators.get(id);
  if (emulator === undefined) {
    emulator = createTargetEmulator({ clientCode, ...(token ? { token } : {}) });
    for (const thirdPartyId of seed) emulator.seedProfile({ thirdPartyId });
    emulators.set(id, emulator);
    console.warn(
      JSON.stringify({
        level: "warn",
        message: 'TARGET_UPSTREAM is "emulator": updates go to an in-memory emulator, not to Adobe Target',
        seededProfiles: seed.length,
      }),
    );
  }
  return emulator;
}
