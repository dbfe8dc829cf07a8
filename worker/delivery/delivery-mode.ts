// How writes reach Target (RELAY_DELIVERY): the one list of modes, which the configuration checks and
// the delivery functions (deliver-update.ts, deliver-batch.ts) branch on. A new mode is added here.

export const DELIVERY_MODES = ["direct", "queue", "auto", "realtime"] as const;

/**
 * - `direct`: each write is sent to Target as it comes (a single update, or a v2 batch).
 * - `queue`: writes are queued, then coalesced into v2 batches within the bulk budget.
 * - `auto`: direct while the relay's share of Target's single updates has room, queued beyond.
 * - `realtime`: single-route writes through the Delivery API (visible at once, creating profiles,
 *   each mbox a billed call) within a daily cap, queued beyond it or when it fails; batches as `direct`.
 */
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/**
 * Why a realtime write went to the queues: a value the Delivery API cannot carry (`unfit`), the
 * daily cap of billed calls reached (`cap`), older writes of the visitor still on their way through
 * the queues (`ordered`), or the Delivery API failing (`failed`).
 */
export type RealtimeFallback = "unfit" | "cap" | "ordered" | "failed";
