/**
 * What one queue batch's log line says. Only counts, codes and the queue's name: never an id, an
 * attribute value or a batch id.
 */
export interface QueueLog {
  readonly queue: string;
  readonly messages: number;
  acked: number;
  retried: number;
  /** Bodies that are not the relay's (retried, never acked), and updates in a bundle that are not (left out). */
  invalid?: number;
  updates?: number;
  /** Writes Target already has (or has newer): nothing to send. */
  superseded?: number;
  /** Messages holding a write older than one still on its way: retried, to go once that one went. */
  waiting?: number;
  /** Messages put back for later: the relay's unfinished batches were as many as Target keeps statuses of. */
  parked?: number;
  /** Visitors sent to Target. */
  rows?: number;
  via?: "bulk" | "single";
  bundles?: number;
  followUps?: number;
  /** Updates queued once more after Target reported their row failed. */
  requeued?: number;
  deadLettered?: number;
  /** Why the batch (or part of it) failed: a reason code. */
  error?: string;
  problems?: readonly string[];
}

export function startQueueLog(queue: string, messages: number): QueueLog {
  return { queue, messages, acked: 0, retried: 0 };
}

export function writeQueueLog(log: QueueLog, durationMs: number): void {
  const failed = log.error !== undefined;
  const line = JSON.stringify({ level: failed ? "error" : "info", ...log, durationMs });
  if (failed) console.error(line);
  else console.log(line);
}
