import type { ProfileLookup } from "../profile-fetch/profile-fetch.js";

/** The operations the emulator answers: the four Profile APIs, and the Delivery API's real-time writes. */
export type Operation = "update" | "fetch" | "batchUpdate" | "batchStatus" | "delivery";

/**
 * Options of `createTargetEmulator`.
 * @example
 * const emulator = createTargetEmulator({ clientCode: "acme", token: "secret", pollsUntilComplete: 0 });
 */
export interface TargetEmulatorOptions {
  /** When set, paths and `client=` naming another client code answer 404. */
  clientCode?: string;
  /** "Require Authentication": every call needs `Authorization: Bearer TOKEN`, else 401. */
  token?: string;
  /** Batch status answers `incomplete` this many times, then `complete` (default 1). */
  pollsUntilComplete?: number;
  /** Accepted batchUpdate + batchStatus calls allowed in any rolling 60 s (default 50); more answer 503. */
  bulkCallsPerMinute?: number;
  /**
   * The edge host this emulator answers as (default `mboxedge45.tt.omtrdc.net`): in batch status URLs,
   * in Delivery API answers (`edgeHost`), and as the location hint of the tnt ids it makes (`.45_0`).
   */
  edgeHost?: string;
  /** Clock in epoch milliseconds (default `Date.now`, read on every call so fake timers apply). */
  now?: () => number;
}

/**
 * A profile as the emulator stores it (values are text, as Target keeps them).
 * @example
 * expect(emulator.getProfile({ thirdPartyId: "crm-42" })?.attributes).toEqual({ tier: "gold" });
 */
export interface StoredProfile {
  thirdPartyId?: string;
  tntId: string;
  marketingCloudVisitorId?: string;
  attributes: Record<string, string>;
  modifiedAt: string;
}

/**
 * A profile to start with. Single updates only reach existing profiles, so tests seed them first.
 * @example
 * emulator.seedProfile({ thirdPartyId: "crm-42", attributes: { tier: "silver" } });
 */
export interface ProfileSeed {
  thirdPartyId?: string;
  tntId?: string;
  marketingCloudVisitorId?: string;
  attributes?: Record<string, string>;
}

/**
 * Which stored profile to read: by customer id, Target visitor id (pcId) or Experience Cloud id. The
 * core's type, the one a profile fetch takes.
 * @example
 * emulator.getProfile({ tntId: "1368007744041-575948.01_00" });
 */
export type { ProfileLookup } from "../profile-fetch/profile-fetch.js";

/** One request the emulator saw. `operation` is absent when no route matched; `status` is 0 while pending and for dropped or aborted calls. */
export interface EmulatorCall {
  readonly operation?: Operation;
  readonly method: string;
  readonly status: number;
  readonly url: string;
  readonly bodyBytes: number;
}

/**
 * How a faulty call misbehaves: answer a status, drop the connection, or answer late.
 * @example
 * emulator.injectFaults({ times: 2, status: 503, headers: { "retry-after": "1" } });
 */
export type FaultBehaviour =
  { status: number; body?: string; headers?: Record<string, string> } | { disconnect: true } | { delayMs: number };

/** Misbehaviour for the next `times` (default 1) calls, optionally only for some operations. */
export type Fault = { times?: number; operations?: readonly Operation[] } & FaultBehaviour;

/**
 * An in-memory Target. Create it with `createTargetEmulator`.
 * @example
 * const emulator = createTargetEmulator({ clientCode: "acme" });
 * const target = createTargetClient({ clientCode: "acme", fetch: emulator.fetch });
 */
export interface TargetEmulator {
  /** A fetch-compatible handler: pass it as a client's `fetch` option. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Creates a profile (or adds ids and attributes to the one an id already names). */
  seedProfile(profile: ProfileSeed): void;
  /** What is stored for one profile, `undefined` when there is none. */
  getProfile(id: ProfileLookup): StoredProfile | undefined;
  /** Every stored profile. */
  profiles(): StoredProfile[];
  /** Every request seen, in order, with the status it got. */
  readonly calls: readonly EmulatorCall[];
  /**
   * Makes the next `times` calls (of the given operations) misbehave.
   * @example
   * emulator.injectFaults({ times: 1, disconnect: true, operations: ["batchUpdate"] });
   */
  injectFaults(fault: Fault): void;
  /** Batch rows with these ids fail: not stored, counted in failedUpdates, listed in detailed status. */
  failRows(ids: Iterable<string>): void;
  /**
   * What the Delivery API (`/rest/v1/delivery`) counted: billed calls, and how well clients kept their
   * sessions.
   * @example
   * expect(emulator.deliveryStats().sessionSwitches).toBe(0);
   */
  deliveryStats(): DeliveryStats;
  /** Forgets profiles, batches, calls, faults, failing rows and delivery counts. */
  reset(): void;
}

/**
 * Counts of the emulator's Delivery API.
 * @example
 * const { billedCalls, sessionSwitches, sharedSessions, maxConcurrentRequests } = emulator.deliveryStats();
 */
export interface DeliveryStats {
  /** Executed mboxes: each one is a billed Target server call. */
  readonly billedCalls: number;
  /** Visitors whose sessionId changed while their session lived (within 30 minutes of their last call). */
  readonly sessionSwitches: number;
  /** SessionIds used for a second visitor while they lived. */
  readonly sharedSessions: number;
  /** The most requests of one session in flight at once (Target takes 100, and answers 420 beyond). */
  readonly maxConcurrentRequests: number;
}
