// Whether a write may create the visitor's profile at Target: by the route it came through, whatever else
// is in flight (docs/relay.md, "Whether a write creates a profile"). Batch-route writes promised creation
// (v2 batch files); single-route writes are update-only, as Target's single update is (single updates, or
// v1 batch files, which also update existing profiles only, when they are queued).
import type { QueuedUpdate } from "./queue-messages.js";
import type { Write } from "./writes.js";

export const createsProfile = (write: { readonly origin: QueuedUpdate["origin"] }): boolean => write.origin === "batch";

/**
 * The visitors any of whose writes creates: their rows go in v2 files. Taken over every write sent, not
 * only those that win per attribute, so that a newer single-route value cannot take away the creation an
 * older batch-route write of the same visitor promised.
 */
export function creatingVisitors(writes: Iterable<Write>): Set<string> {
  const creating = new Set<string>();
  for (const write of writes) if (createsProfile(write)) creating.add(write.mbox3rdPartyId);
  return creating;
}
