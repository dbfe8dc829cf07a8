// Whether a write may create the visitor's profile at Target: by the route it came through, whatever else
// is in flight (docs/relay.md, "Whether a write creates a profile"). Batch-route writes promised creation
// (v2 batch files); single-route writes are update-only, as Target's single update is (single updates, or
// v1 batch files, which also update existing profiles only, when they are queued).
//
// And a visitor goes in one v2 file from the relay at most: Target's documentation says consecutive v2
// batches for the same visitor "override" what the first one set, and on the strict reading the later
// one takes it back (docs/relay.md, "Consecutive v2 batches"). Once a v2 file carried a visitor, its later
// writes go in v1 files, which update the profile that file created (Target applies batches in order).
import type { BatchVersion } from "../../src/index.js";
import type { CreationState } from "../objects/newest-writes.js";
import type { QueuedUpdate } from "./queue-messages.js";
import type { Write } from "./writes.js";

export const createsProfile = (write: { readonly origin: QueuedUpdate["origin"] }): boolean => write.origin === "batch";

/** A creation on its way: the visitor's writes may not go out at once, as single updates. */
export const creationPending = (state: CreationState | undefined): boolean => state === "promised" || state === "sent";

/**
 * The batch version of each visitor's row: 2 (creates the profile) for a visitor whose creation is
 * promised, or with a creating write among `writes`, unless a v2 file carried it already (`sent`,
 * `created`); 1 otherwise. Taken over every write sent, not only those that win per attribute, so that a
 * newer single-route value cannot take away the creation an older batch-route write promised.
 */
export function rowVersions(
  writes: Iterable<Write>,
  states: ReadonlyMap<string, CreationState>,
): Map<string, BatchVersion> {
  const versions = new Map<string, BatchVersion>();
  for (const write of writes) {
    const visitor = write.mbox3rdPartyId;
    if (versions.get(visitor) === 2) continue;
    const state = states.get(visitor);
    const creates = state === "promised" || (state === undefined && createsProfile(write));
    versions.set(visitor, creates ? 2 : 1);
  }
  return versions;
}
