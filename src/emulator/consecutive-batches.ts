// Adobe: "Consecutive v2 batch update calls without mbox calls in between for the same thirdPartyIds
// override the properties updated in the first batch update call." Two readings:
//   "merge"   (default): the later batch's values win, attribute by attribute, like any other update.
//   "replace" (strict):  the later batch replaces the earlier one's update for that id: what the earlier
//                        batch set goes back to what it was before (or away), unless something else
//                        changed it since; then the later batch's values apply.
// The emulator serves no mbox calls, so under "replace" every v2 batch follows the previous one for
// the same id. See docs/target-api.md.
import type { AttributeRecord, ProfileRecord, ProfileStore } from "./profile-store.js";
import type { ConsecutiveBatches } from "./types.js";

/** What one v2 batch wrote to one profile: per attribute, the value before it and the one it left. */
interface BatchWrites {
  readonly batchId: string;
  readonly attributes: Map<string, { readonly before: AttributeRecord | undefined; written?: number | undefined }>;
}

export interface ConsecutiveBatchWriter {
  /** Whether v2 batches are chained ("replace"): only then does `apply` read the names it is given. */
  readonly chains: boolean;
  /**
   * Applies one v2 row keyed by thirdPartyId, as the configured reading says: `write` sets its
   * attributes, these `names`, in the store.
   */
  apply(record: ProfileRecord, batchId: string, names: readonly string[], write: (record: ProfileRecord) => void): void;
  clear(): void;
}

export function createConsecutiveBatchWriter(mode: ConsecutiveBatches, store: ProfileStore): ConsecutiveBatchWriter {
  // The last v2 batch's writes, per profile (only kept under "replace").
  const lastBatch = new Map<ProfileRecord, BatchWrites>();
  return {
    chains: mode === "replace",
    apply(record, batchId, names, write) {
      if (mode === "merge") return write(record);
      let writes = lastBatch.get(record);
      if (writes !== undefined && writes.batchId !== batchId) {
        for (const [name, { before, written }] of writes.attributes) {
          // Only what is still the earlier batch's own value (its own write) gives way.
          if (store.attribute(record, name)?.write !== written) continue;
          store.restoreAttribute(record, name, before);
        }
        writes = undefined;
      }
      if (writes === undefined) lastBatch.set(record, (writes = { batchId, attributes: new Map() }));
      for (const name of names) {
        if (!writes.attributes.has(name)) writes.attributes.set(name, { before: store.attribute(record, name) });
      }
      write(record);
      for (const name of names) writes.attributes.get(name)!.written = store.attribute(record, name)!.write;
    },
    clear() {
      lastBatch.clear();
    },
  };
}
