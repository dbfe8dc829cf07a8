/** The four Profile API operations the emulator answers. */
export type Operation = "update" | "fetch" | "batchUpdate" | "batchStatus";

export interface TargetEmulatorOptions {
  /** When set, paths and `client=` naming another client code answer 404. */
  clientCode?: string;
  /** "Require Authentication": every call needs `Authorization: Bearer TOKEN`, else 401. */
  token?: string;
  /** Batch status answers `incomplete` this many times, then `complete` (default 1). */
  pollsUntilComplete?: number;
  /** Accepted batchUpdate + batchStatus calls allowed in any rolling 60 s (default 50); more answer 503. */
  bulkCallsPerMinute?: number;
  /** Host of the returned batch status URLs (default `mboxedge45.tt.omtrdc.net`). */
  edgeHost?: string;
  /** Clock in epoch milliseconds (default `Date.now`, read on every call so fake timers apply). */
  now?: () => number;
}

/** A profile as the emulator stores it. */
export interface StoredProfile {
  thirdPartyId?: string;
  tntId: string;
  marketingCloudVisitorId?: string;
  attributes: Record<string, string>;
  modifiedAt: string;
}

export interface ProfileSeed {
  thirdPartyId?: string;
  tntId?: string;
  marketingCloudVisitorId?: string;
  attributes?: Record<string, string>;
}

export type ProfileLookup = { thirdPartyId: string } | { tntId: string } | { marketingCloudVisitorId: string };

/** One request the emulator saw. `operation` is absent when no route matched; `status` is 0 while pending and for dropped or aborted calls. */
export interface EmulatorCall {
  readonly operation?: Operation;
  readonly method: string;
  readonly status: number;
  readonly url: string;
  readonly bodyBytes: number;
}

export type FaultBehaviour =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { disconnect: true }
  | { delayMs: number };

/** Misbehaviour for the next `times` (default 1) calls, optionally only for some operations. */
export type Fault = { times?: number; operations?: readonly Operation[] } & FaultBehaviour;

export interface TargetEmulator {
  /** A fetch-compatible handler: pass it as a client's `fetch` option. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  seedProfile(profile: ProfileSeed): void;
  getProfile(id: ProfileLookup): StoredProfile | undefined;
  profiles(): StoredProfile[];
  readonly calls: readonly EmulatorCall[];
  injectFaults(fault: Fault): void;
  /** Batch rows with these ids fail: not stored, counted in failedUpdates, listed in detailed status. */
  failRows(ids: Iterable<string>): void;
  reset(): void;
}
