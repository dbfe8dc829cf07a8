import type { BatchFile } from "./batch-file.js";
import type { BatchStatus } from "./batch-status.js";
import type { BatchSubmission, BatchVersion } from "./batch-submission.js";
import { encodeBatchesAsync, type EncodeOptions } from "./encode-batches.js";
import { TargetBulkUpdateError } from "./errors.js";
import type { ProfileUpdate } from "./profile-update.js";
import type { WaitForBatchOptions } from "./wait-for-batch.js";

/**
 * Where a bulk update stands, reported after each step.
 * @example
 * onProgress: ({ rowsEncoded, filesSubmitted, filesFinished }) => console.log(rowsEncoded, filesSubmitted, filesFinished)
 */
export interface BulkProgress {
  /** Visitor rows encoded into files so far (after merging duplicates within a file). */
  readonly rowsEncoded: number;
  readonly filesSubmitted: number;
  /** Files whose batch reached `complete` or `stuck` (only when waiting). */
  readonly filesFinished: number;
}

/**
 * Options of `bulkUpdate`.
 * @example
 * await target.bulkUpdate(rows, { version: 2, wait: true, onProgress: console.log, signal });
 */
export interface BulkUpdateOptions extends EncodeOptions {
  /** Batch API version (default 2, which also creates missing profiles). */
  readonly version?: BatchVersion;
  /** Wait for every batch to finish and report its final status (default true), with these polling options. */
  readonly wait?: boolean | Omit<WaitForBatchOptions, "signal">;
  /** Called after each file is submitted and after each batch finishes. */
  readonly onProgress?: (progress: BulkProgress) => void;
  /** Stops the bulk update between and during calls; what was submitted stays submitted. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One submitted file: what it held and, when waited for, how it ended.
 * @example
 * for (const batch of report.batches) console.log(batch.batchId, batch.rows, batch.status?.status);
 */
export interface BulkBatch extends BatchSubmission {
  readonly rows: number;
  readonly bytes: number;
  readonly idType: BatchFile["idType"];
  readonly status?: BatchStatus;
}

/**
 * What a bulk update did.
 * @example
 * const { files, rows, batches, failedIds } = await target.bulkUpdate(rows);
 */
export interface BulkReport {
  /** Batch files submitted. */
  readonly files: number;
  /** Visitor rows submitted (repeated ids within a file count once). */
  readonly rows: number;
  /** Each submitted file, in order, with its final status when waited for. */
  readonly batches: readonly BulkBatch[];
  /** The ids Target reported as failed, over all batches (known only when waiting). */
  readonly failedIds: readonly string[];
}

/** The client calls a bulk update is made of. */
export interface BulkCalls {
  submit(file: BatchFile, options: { version: BatchVersion; signal?: AbortSignal | undefined }): Promise<BatchSubmission>;
  wait(submission: BatchSubmission, options: WaitForBatchOptions & { version: BatchVersion }): Promise<BatchStatus>;
}

/** Encode → submit file by file (one file in memory at a time) → optionally wait for every batch. */
export async function bulkUpdate(
  calls: BulkCalls,
  rows: AsyncIterable<ProfileUpdate> | Iterable<ProfileUpdate>,
  options: BulkUpdateOptions = {},
): Promise<BulkReport> {
  const { version = 2, wait = true, onProgress, signal } = options;
  const batches: BulkBatch[] = [];
  let rowsEncoded = 0;
  let filesFinished = 0;
  const report = (): BulkReport => ({
    files: batches.length,
    rows: rowsEncoded,
    batches: [...batches],
    failedIds: batches.flatMap((batch) => batch.status?.failedIds ?? []),
  });
  const progress = () => onProgress?.({ rowsEncoded, filesSubmitted: batches.length, filesFinished });

  try {
    const encodeOptions = { ...(options.maxRows ? { maxRows: options.maxRows } : {}), ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}) };
    for await (const file of encodeBatchesAsync(rows, encodeOptions)) {
      const submission = await calls.submit(file, { version, signal });
      rowsEncoded += file.rows;
      batches.push({ ...submission, rows: file.rows, bytes: file.bytes, idType: file.idType });
      progress();
    }
    if (wait) {
      for (const [index, batch] of batches.entries()) {
        const polling = wait === true ? {} : wait;
        const status = await calls.wait(batch, { ...polling, version, ...(signal ? { signal } : {}) });
        batches[index] = { ...batch, status };
        filesFinished++;
        progress();
      }
    }
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw new TargetBulkUpdateError(report(), error);
  }
  return report();
}
