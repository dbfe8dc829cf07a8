import { isTargetValidationError } from "../src/index.js";
import { admitDirectWrites, confirmWrites, releaseWrites, type NewestWrites } from "./objects/newest-writes.js";
import type { Write } from "./queue/writes.js";
import { RelayError } from "./relay-error.js";

/** The longest a direct send may take, retries included; it is aborted then. */
export const DIRECT_SEND_MS = 45_000;
/** A direct send's lease on its attributes (objects/newest-writes.ts): it outlasts the send. */
export const DIRECT_LEASE_MS = DIRECT_SEND_MS + 15_000;

/**
 * Sends writes to Target at once, in order with the queues: only when nothing older of those
 * visitors' attributes is on its way through them (a backlog, a replay, a batch being delivered),
 * holding a lease meanwhile so that no newer queued write overtakes this one. Resolves false, having
 * sent nothing, when the writes must be queued after what is on its way instead.
 *
 * Confirmed once Target took them; on failure released (older queued writes no longer wait for
 * them) and the error rethrown. Past DIRECT_SEND_MS the send is aborted (a 502), so it can never
 * reach Target after its lease.
 */
export async function sendInOrder(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
  send: (signal: AbortSignal) => Promise<unknown>,
): Promise<boolean> {
  if (!(await admitDirectWrites(namespace, writes, DIRECT_LEASE_MS))) return false;
  const signal = AbortSignal.timeout(DIRECT_SEND_MS);
  try {
    await send(signal);
  } catch (error) {
    await releaseWrites(namespace, writes);
    if (signal.aborted && !isTargetValidationError(error)) throw new RelayError(502, "upstream_failed", "Adobe Target did not answer in time");
    throw error;
  }
  await confirmWrites(namespace, writes);
  return true;
}
