import * as v from "valibot";
import type { BatchFile } from "./batch-file.js";
import type { BatchStatus } from "./batch-status.js";
import { BatchVersionSchema, type BatchSubmission, type BatchVersion } from "./batch-submission.js";
import { encodeBatchesAsync, type EncodeOptions } from "./encode-batches.js";
import { errorGuard, TargetProfileError } from "../errors.js";
import { KEPT_BATCH_STATUSES } from "../limits.js";
import type { ProfileUpdate } from "../profile-update.js";
import { functionSchema, milliseconds, SignalSchema } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";
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
  /** Milliseconds each submit attempt may take (default: the client's `timeout`); large files need more. */
  readonly submitTimeout?: number | undefined;
  /** Batch API version (default 2, which also creates missing profiles). */
  readonly version?: BatchVersion;
  /**
   * Wait for every batch to finish and report its final status (default true), with these polling
   * options. Target keeps only the last 10 batch statuses, so while waiting at most 10 batches are
   * left unread: the 11th file is submitted once the 1st batch has finished. Without waiting, only
   * the last 10 files' statuses can still be read.
   */
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
  submit(
    file: BatchFile,
    options: { version: BatchVersion; timeout?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<BatchSubmission>;
  wait(submission: BatchSubmission, options: WaitForBatchOptions): Promise<BatchStatus>;
}

const BulkOptionsSchema = v.object(
  {
    version: BatchVersionSchema,
    submitTimeout: v.optional(milliseconds("submitTimeout")),
    wait: v.optional(v.union([v.boolean(), v.object({})], "wait must be true, false or polling options"), true),
    onProgress: v.optional(functionSchema<(progress: BulkProgress) => void>("onProgress")),
    signal: SignalSchema,
    // Checked by the encoder, with Target's limits.
    maxRows: v.optional(v.unknown()),
    maxBytes: v.optional(v.unknown()),
  },
  "options must be an object",
);

/**
 * Encode → submit file by file → optionally wait for every batch. Memory stays bounded by the files
 * being filled (one per id type), whatever the input length. Any failure, a bad row or an abort
 * included, is a `TargetBulkUpdateError` whose `report` lists what Target already has.
 */
export async function bulkUpdate(
  calls: BulkCalls,
  rows: AsyncIterable<ProfileUpdate> | Iterable<ProfileUpdate>,
  options: BulkUpdateOptions = {},
): Promise<BulkReport> {
  const { version, submitTimeout, wait, onProgress, signal } = parseOrThrow(BulkOptionsSchema, options);
  const { maxRows, maxBytes } = options;
  const batches: BulkBatch[] = [];
  let rowsEncoded = 0;
  let filesFinished = 0;
  const report = (): BulkReport => ({
    files: batches.length,
    rows: batches.reduce((sum, batch) => sum + batch.rows, 0),
    batches: [...batches],
    failedIds: batches.flatMap((batch) => batch.status?.failedIds ?? []),
  });
  const progress = () => onProgress?.({ rowsEncoded, filesSubmitted: batches.length, filesFinished });

  const polling = wait === false ? undefined : wait === true ? {} : (wait as Omit<WaitForBatchOptions, "signal">);
  // Batches are waited for in the order they were submitted.
  const waitForNext = async () => {
    const batch = batches[filesFinished]!;
    batches[filesFinished] = { ...batch, status: await calls.wait(batch, { ...polling, signal }) };
    filesFinished++;
    progress();
  };

  try {
    const files = encodeBatchesAsync(rows, {
      ...(maxRows !== undefined && { maxRows }),
      ...(maxBytes !== undefined && { maxBytes }),
    });
    for await (const file of files) {
      rowsEncoded += file.rows;
      progress();
      // Target keeps only the last statuses (docs/target-api.md): older ones would be gone before they are read.
      if (polling && batches.length - filesFinished >= KEPT_BATCH_STATUSES) await waitForNext();
      const submission = await calls.submit(file, { version, timeout: submitTimeout, signal });
      batches.push({ ...submission, rows: file.rows, bytes: file.bytes, idType: file.idType });
      progress();
    }
    while (polling && filesFinished < batches.length) await waitForNext();
  } catch (error) {
    throw new TargetBulkUpdateError(report(), error);
  }
  return report();
}

/**
 * A bulk update stopped part way: a row broke a rule, a call failed, or the signal aborted (`cause`).
 * `report` lists the files Target already has (resubmitting them is harmless, but not needed).
 * The report holds visitor ids (`failedIds`), so it is left out of the error's JSON and inspection.
 * @example
 * if (isTargetBulkUpdateError(error)) console.error(`${error.report.files} file(s) were submitted`, error.cause);
 */
export class TargetBulkUpdateError extends TargetProfileError {
  override name = "TargetBulkUpdateError";
  declare readonly report: BulkReport;

  constructor(report: BulkReport, cause: unknown) {
    super(`bulk update stopped after ${report.files} submitted file(s)`, { cause });
    Object.defineProperty(this, "report", { value: report, enumerable: false });
  }
}

/**
 * True when a bulk update stopped part way (see its `report`).
 * @example
 * if (isTargetBulkUpdateError(error)) console.error(`${error.report.rows} rows were submitted before`, error.cause);
 */
export const isTargetBulkUpdateError = errorGuard<TargetBulkUpdateError>("TargetBulkUpdateError");
