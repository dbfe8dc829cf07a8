import type { AttributeValue } from "../../src/index.js";
import type { QueuedUpdate } from "./queue-messages.js";

/**
 * One attribute of one update: the unit the relay orders, coalesces and admits. A visitor's
 * attribute takes the newest write, by `(receivedAt, id)`.
 */
export interface Write {
  readonly mbox3rdPartyId: string;
  readonly name: string;
  readonly value: AttributeValue;
  readonly id: string;
  readonly receivedAt: number;
  readonly origin: QueuedUpdate["origin"];
  readonly requeued?: true | undefined;
}

/** The order of two writes' versions: negative when `a` is older. */
export function compareVersions(
  a: { readonly receivedAt: number; readonly id: string },
  b: { readonly receivedAt: number; readonly id: string },
): number {
  return a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function writesOf(updates: Iterable<QueuedUpdate>): Write[] {
  const writes: Write[] = [];
  for (const { attributes, ...meta } of updates) {
    for (const [name, value] of Object.entries(attributes)) writes.push({ ...meta, name, value });
  }
  return writes;
}

/** The newest write of each visitor's attribute, grouped by visitor (first seen first). */
export function coalesce(writes: Iterable<Write>): Map<string, Map<string, Write>> {
  const visitors = new Map<string, Map<string, Write>>();
  for (const write of writes) {
    let attributes = visitors.get(write.mbox3rdPartyId);
    if (attributes === undefined) visitors.set(write.mbox3rdPartyId, (attributes = new Map()));
    const held = attributes.get(write.name);
    if (held === undefined || compareVersions(write, held) > 0) attributes.set(write.name, write);
  }
  return visitors;
}

/** One row per visitor, as the core encodes and sends it. */
export function toRow(mbox3rdPartyId: string, attributes: ReadonlyMap<string, Write>) {
  return {
    mbox3rdPartyId,
    attributes: Object.fromEntries([...attributes].map(([name, write]) => [name, write.value])),
  };
}

/**
 * Writes regrouped into the (partial) updates they came from, each keeping its id and arrival
 * time: what the ledger keeps, and what is queued again or dead-lettered.
 */
export function toUpdates(writes: Iterable<Write>): QueuedUpdate[] {
  const updates = new Map<string, { -readonly [K in keyof QueuedUpdate]: QueuedUpdate[K] }>();
  for (const { name, value, ...meta } of writes) {
    const key = `${meta.id}\n${meta.mbox3rdPartyId}`;
    let update = updates.get(key);
    if (update === undefined) updates.set(key, (update = { ...meta, attributes: {} }));
    update.attributes[name] = value;
  }
  return [...updates.values()];
}
