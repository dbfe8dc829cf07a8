// Batch statuses as GET /v1/batches/{id} last read them, kept briefly per batch (in each isolate): callers
// polling one batch share one bulk call per STATUS_CACHE_MS between them, and share the read in flight.
import type { BatchStatus } from "../../src/index.js";

/** How long a status read is served again: a batch is not watched closer than this anyway. */
export const STATUS_CACHE_MS = 10_000;
// A bound on memory: reads of distinct batches are also bounded by their share of the bulk budget.
const MAX_CACHED = 1_000;

/** A status, or `undefined` when Target knows no such batch (a 404 is cached too). */
type Read = Promise<BatchStatus | undefined>;

const cache = new Map<string, { readonly at: number; readonly read: Read }>();

/** The status of `key`'s batch: the one read in the last STATUS_CACHE_MS (or in flight), else `read()`'s. */
export function cachedBatchStatus(key: string, read: () => Read, now = Date.now()): Read {
  const held = cache.get(key);
  if (held !== undefined && now - held.at < STATUS_CACHE_MS) return held.read;
  cache.delete(key);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  const fresh = read();
  cache.set(key, { at: now, read: fresh });
  // A failed read (a 429, Target failing) is not kept: the next caller tries again.
  fresh.catch(() => {
    if (cache.get(key)?.read === fresh) cache.delete(key);
  });
  return fresh;
}
