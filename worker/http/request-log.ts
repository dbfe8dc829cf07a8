import type { RelayErrorCode, RelayProfileUpdate } from "../../src/internal/index.js";
import type { RealtimeFallback } from "../delivery/delivery-mode.js";

/**
 * What one request's log line says. Only names, counts and codes: never an id, an attribute
 * value, a key, a token, a path or a query string (ids travel in paths).
 */
export interface RequestLog {
  readonly requestId: string;
  /** The route template, e.g. `POST /v1/profiles/:mbox3rdPartyId`; `unmatched` otherwise. */
  route: string;
  /** The name of the caller's key, once authenticated. */
  key?: string;
  updates?: number;
  /** Rows in the batch file (repeated ids are merged). */
  rows?: number;
  attributes?: number;
  /** How the updates went: to Target at once (as single updates or batches, or in real time), or onto the relay's queues. */
  delivery?: "direct" | "realtime" | "queued";
  /** Why a realtime write went to the queues instead (delivery/deliver-realtime.ts). */
  fallback?: RealtimeFallback;
  /** `replayed` when an Idempotency-Key repeat got the first answer back. */
  idempotency?: "first" | "replayed";
  error?: RelayErrorCode;
  /** How Target failed: the core error's name and HTTP status. */
  upstream?: string;
  /** What is wrong with the configuration (var names and rules). */
  problems?: readonly string[];
  /**
   * Steps that failed after the request had succeeded (the caller still got its success): each a step
   * and what became of it, `follow_up:requeued` (retried through the queue) or `follow_up:lost`.
   */
  failedSteps?: string[];
}

/** What a log counts of an update: the attributes it sets (`null` and `undefined` ones are skipped). */
export const attributeCount = (update: RelayProfileUpdate) =>
  Object.values(update.attributes).filter((value) => value !== null && value !== undefined).length;

export function startLog(): RequestLog {
  return { requestId: crypto.randomUUID(), route: "unmatched" };
}

/** Notes a step that failed after the request succeeded, and what became of it. */
export function noteFailedStep(log: RequestLog, step: string, outcome: "requeued" | "lost"): void {
  (log.failedSteps ??= []).push(`${step}:${outcome}`);
}

/** One JSON line per request; 5xx, and steps that failed after a success, go to console.error so they stand out. */
export function writeLog(log: RequestLog, status: number, durationMs: number): void {
  const { requestId, route, key, ...facts } = log;
  const failed = status >= 500 || log.failedSteps !== undefined;
  const line = JSON.stringify({
    level: failed ? "error" : "info",
    requestId,
    route,
    key,
    status,
    durationMs,
    ...facts,
  });
  if (failed) console.error(line);
  else console.log(line);
}
