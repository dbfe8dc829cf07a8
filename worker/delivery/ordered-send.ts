import { isTargetValidationError } from "../../src/index.js";
import { admitDirectWrites, confirmWrites, releaseWrites } from "../objects/newest-writes-client.js";
import type { NewestWrites } from "../objects/newest-writes.js";
import { RelayError } from "../relay-error.js";
import type { Write } from "./writes.js";

/** A direct send's lease on its attributes (objects/newest-writes.ts). */
export const DIRECT_LEASE_MS = 60_000;
/** The send is aborted this long before its lease ends, so it cannot reach Target after it. */
const LEASE_MARGIN_MS = 15_000;

/**
 * How a direct send went: `sent` (and confirmed); `unconfirmed`, sent but not recorded as
 * delivered (its lease will lapse: queue the writes again, so that a later delivery records them);
 * `queue`, nothing sent, because older writes are on their way through the queues (or their order
 * could not be checked): queue these after them.
 */
export type DirectSend = "sent" | "unconfirmed" | "queue";

/**
 * Sends writes to Target at once, in order with the queues: only when nothing older of those
 * visitors' attributes is on its way through them (a backlog, a replay, a batch being delivered),
 * holding a lease meanwhile so that no newer queued write overtakes this one; and, unless the send
 * `creates` missing profiles itself, when no write that is to create those visitors' profiles is.
 *
 * Confirmed once Target took them; on failure released (older queued writes no longer wait for
 * them) and the error rethrown. The send is aborted (a 502) before the lease ends, so it can never
 * reach Target after it; a lease left behind (a request that died) lapses by itself.
 */
export async function sendInOrder(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
  send: (signal: AbortSignal) => Promise<unknown>,
  creates = false,
): Promise<DirectSend> {
  const leaseUntil = Date.now() + DIRECT_LEASE_MS;
  const release = () => releaseWrites(namespace, writes).catch(() => {});
  try {
    if (!(await admitDirectWrites(namespace, writes, leaseUntil, creates))) return "queue";
  } catch {
    return "queue";
  }
  const budget = leaseUntil - Date.now() - LEASE_MARGIN_MS;
  if (budget <= 0) {
    await release();
    return "queue";
  }
  const signal = AbortSignal.timeout(budget);
  try {
    await send(signal);
  } catch (error) {
    await release();
    if (signal.aborted && !isTargetValidationError(error))
      throw new RelayError(502, "upstream_failed", "Adobe Target did not answer in time");
    throw error;
  }
  try {
    await confirmWrites(namespace, writes);
    return "sent";
  } catch {
    return "unconfirmed";
  }
}
