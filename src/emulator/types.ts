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
  /** Batch status answers `incomplete` this many times, then `complete` once the batch is applied (default 1). */
  pollsUntilComplete?: number;
  /** Accepted batchUpdate + batchStatus calls allowed in any rolling 60 s (default 50); more answer 503. */
  bulkCallsPerMinute?: number;
  /**
   * The edge host this emulator answers as (default `mboxedge45.tt.omtrdc.net`): in batch status URLs,
   * in Delivery API answers (`edgeHost`), and as the location hint of the tnt ids it makes (`.45_0`).
   */
  edgeHost?: string;
  /**
   * Where batch status URLs point: `"edge"` (default), `https://` and `edgeHost`, as Target does; or
   * `"request"`, back at the scheme and host the batch was submitted to, so that a client configured
   * with the emulator's URL (served over HTTP, behind a proxy or not) follows them. The Delivery API's
   * `edgeHost` follows the same choice: `edgeHost`, or the host the call was sent to.
   */
  statusUrls?: "edge" | "request";
  /** Clock in epoch milliseconds (default `Date.now`, read on every call so fake timers apply). */
  now?: () => number;
  /**
   * How long accepted writes take to become visible (default: at once). Until then a fetch does not
   * see them and a batch's status reads `incomplete`. `"realistic"` is our reading of Adobe's
   * figures: single updates after 1 minute, batches after 1 hour.
   * @example
   * createTargetEmulator({ visibilityDelay: { singleUpdate: 60_000, batch: 3_600_000 } });
   */
  visibilityDelay?: VisibilityDelay | "realistic";
  /** Single updates accepted in any rolling 24 hours (default 1,000,000); more answer 429 with `Retry-After`. */
  singleUpdatesPerDay?: number;
  /** Profile fetches accepted in any rolling 24 hours (default 1,000,000); more answer 429 with `Retry-After`. */
  fetchesPerDay?: number;
  /**
   * How a v2 batch treats what the previous v2 batch set for the same thirdPartyId (there is no mbox
   * call in between in the emulator): `"merge"` (default) lets later values win per attribute;
   * `"replace"` is the strict reading, where the later batch replaces the earlier one's update.
   * @example
   * createTargetEmulator({ consecutiveBatches: "replace" });
   */
  consecutiveBatches?: ConsecutiveBatches;
}

/**
 * How a v2 batch treats what the previous v2 batch set for the same thirdPartyId: `"merge"` (later
 * values win per attribute) or `"replace"` (the later batch replaces the earlier one's update).
 * @example
 * const reading: ConsecutiveBatches = "replace";
 */
export type ConsecutiveBatches = "merge" | "replace";

/**
 * Milliseconds before accepted writes become visible, per kind of write (each default 0).
 * @example
 * const delay: VisibilityDelay = { singleUpdate: 60_000, batch: 3_600_000 };
 */
export interface VisibilityDelay {
  singleUpdate?: number;
  batch?: number;
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
  /** Forgets profiles, batches, writes not yet visible, quotas, calls, faults, failing rows and delivery counts. */
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
