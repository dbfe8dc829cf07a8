// Updates packed into `bundle` messages for the deliveries queue. A queue message holds at most
// 128 KB, so a bundle stops at MAX_BUNDLE_BYTES of JSON; the consumer then takes up to 100 bundles
// at once, which is how thousands of single writes end up in one bulk call.
import type { BundleMessage, QueuedUpdate } from "./queue-messages.js";

/** The most JSON one bundle holds: a queue message holds at most 128 KB. */
export const MAX_BUNDLE_BYTES = 100_000;

const encoder = new TextEncoder();
export const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).byteLength;

// `{"type":"bundle","id":"<uuid>","updates":[…]}` around the updates, rounded up.
const ENVELOPE_BYTES = 100;

export class UpdateTooLargeError extends RangeError {
  override name = "UpdateTooLargeError";
}

export function packBundles(updates: Iterable<QueuedUpdate>): BundleMessage[] {
  const bundles: BundleMessage[] = [];
  let open: QueuedUpdate[] = [];
  let bytes = ENVELOPE_BYTES;
  const close = () => {
    if (open.length > 0) bundles.push({ type: "bundle", id: crypto.randomUUID(), updates: open });
    open = [];
    bytes = ENVELOPE_BYTES;
  };
  for (const update of updates) {
    const size = jsonBytes(update) + 1;
    if (ENVELOPE_BYTES + size > MAX_BUNDLE_BYTES)
      throw new UpdateTooLargeError(
        `an update must be under ${MAX_BUNDLE_BYTES - ENVELOPE_BYTES} bytes of JSON to be queued`,
      );
    if (bytes + size > MAX_BUNDLE_BYTES) close();
    open.push(update);
    bytes += size;
  }
  close();
  return bundles;
}
