// What travels on the relay's queues. Every body has a `type`, so the dead-letter consumer can read
// whatever either queue gave up on:
//   target-profile-updates     `update`: one visitor's write, as the relay received it
//   target-profile-deliveries  `bundle`: many updates, packed for one bulk call; `follow-up`: check a batch
// Bodies are checked again on the way out (valibot): a malformed one is retried alone (queue/handle-queue.ts)
// instead of failing its whole batch on every retry.
import * as v from "valibot";
import { attributeRecord, AttributeValueSchema, thirdPartyIdSchema } from "../../src/internal/index.js";

const UpdateFields = {
  /** A UUIDv7 (arrival-stamp.ts): unique, and the tie-breaker between writes of one millisecond. */
  id: v.pipe(v.string(), v.nonEmpty()),
  /** When the relay received the update, in Unix milliseconds. */
  receivedAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  mbox3rdPartyId: thirdPartyIdSchema("mbox3rdPartyId"),
  attributes: v.pipe(
    attributeRecord(AttributeValueSchema, "attributes must be an object of name → value"),
    v.check((attributes) => Object.keys(attributes).length > 0, "attributes must not be empty"),
  ),
  /** The route it came through: single-route updates may go out as single updates (update-only). */
  origin: v.picklist(["single", "batch"]),
  /** Set when Target reported its row failed and it was queued once more: a second failure dead-letters it. */
  requeued: v.optional(v.literal(true)),
};

export const QueuedUpdateSchema = v.object(UpdateFields);
export type QueuedUpdate = v.InferOutput<typeof QueuedUpdateSchema>;

export const UpdateMessageSchema = v.object({ type: v.literal("update"), ...UpdateFields });
export type UpdateMessage = v.InferOutput<typeof UpdateMessageSchema>;

/** Updates packed together (bundles.ts); checked one by one when delivered. */
export const BundleMessageSchema = v.object({
  type: v.literal("bundle"),
  id: v.pipe(v.string(), v.nonEmpty()),
  updates: v.array(v.unknown()),
});
export type BundleMessage = Omit<v.InferOutput<typeof BundleMessageSchema>, "updates"> & {
  readonly updates: readonly QueuedUpdate[];
};

/** A submitted batch to check: its rows wait in its ledger (objects/batch-ledger.ts). */
export const FollowUpMessageSchema = v.object({
  type: v.literal("follow-up"),
  batchId: v.pipe(v.string(), v.nonEmpty()),
  statusUrl: v.pipe(v.string(), v.url()),
  /** Status checks already made. */
  checks: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The batch's version: a v2 batch's complete rows are created profiles (profile-creation.ts). Default 2. */
  version: v.optional(v.picklist([1, 2])),
  /** The batch's slot among the relay's unfinished batches (objects/target-quotas.ts), given back once read. */
  slot: v.optional(v.string()),
});
export type FollowUpMessage = v.InferOutput<typeof FollowUpMessageSchema>;

export const QueueMessageSchema = v.variant("type", [UpdateMessageSchema, BundleMessageSchema, FollowUpMessageSchema]);
export type QueueMessage = UpdateMessage | BundleMessage | FollowUpMessage;

/** What a failure is recorded under (objects/dead-letter-store.ts): stable across retries and the dead-letter queue. */
export function subjectOf(message: QueueMessage): string {
  return message.type === "follow-up" ? `batch:${message.batchId}` : message.id;
}

/** The updates a message carries, the valid ones (a bundle's are checked one by one) and how many were not. */
export function updatesOf(message: QueueMessage): { readonly updates: QueuedUpdate[]; readonly invalid: number } {
  if (message.type === "follow-up") return { updates: [], invalid: 0 };
  if (message.type === "update") {
    const { type: _, ...update } = message;
    return { updates: [update], invalid: 0 };
  }
  const updates: QueuedUpdate[] = [];
  let invalid = 0;
  for (const candidate of message.updates) {
    const parsed = v.safeParse(QueuedUpdateSchema, candidate);
    if (parsed.success) updates.push(parsed.output);
    else invalid++;
  }
  return { updates, invalid };
}

/** A message body, checked; `undefined` when it is not one of ours. */
export function readMessage(body: unknown): QueueMessage | undefined {
  const parsed = v.safeParse(QueueMessageSchema, body);
  return parsed.success ? (parsed.output as QueueMessage) : undefined;
}
