// How writes reach Target (RELAY_DELIVERY): the one list of modes, which the configuration checks and
// the delivery functions (deliver-update.ts, deliver-batch.ts) branch on. A new mode is added here.

export const DELIVERY_MODES = ["direct", "queue", "auto"] as const;

/**
 * - `direct`: each write is sent to Target as it comes (a single update, or a v2 batch).
 * - `queue`: writes are queued, then coalesced into v2 batches within the bulk budget.
 * - `auto`: direct while the relay's share of Target's single updates has room, queued beyond.
 */
export type DeliveryMode = (typeof DELIVERY_MODES)[number];
