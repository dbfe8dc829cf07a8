import * as v from "valibot";
import type { BatchBytes, BatchFile, BatchInput, ByteRow } from "./batch-file.js";
import { rowError } from "./batch-row.js";
import type { BatchStatus } from "./batch-status.js";
import { BatchVersionSchema, type BatchSubmission, type BatchVersion } from "./batch-submission.js";
import { BatchEncoder, parseEncodeOptions, type EncodeOptions } from "./encode-batches.js";
import { anyRows } from "./rows-input.js";
import { byteRowsOf, isSourceRow, type SourceRow } from "./source-row.js";
import { PollingOptionsSchema, type WaitForBatchOptions } from "./wait-for-batch.js";
import { errorGuard, TargetProfileError, type ValidationIssue } from "../errors.js";
import { KEPT_BATCH_STATUSES } from "../limits.js";
import type { ProfileUpdate } from "../profile-update.js";
import { functionSchema, milliseconds, SignalSchema } from "../internal/schemas.js";
import { parseOrThrow } from "../internal/validation.js";

/**
 * Where a bulk update stands: reported while rows are read (every 10,000 rows, and at least twice a
 * second while rows come in), after each file is submitted and after each batch finishes.
 * @example
 * onProgress: ({ rowsRead, rowsRejected, filesSubmitted, filesFinished }) => console.log(rowsRead, rowsRejected, filesSubmitted, filesFinished)
 */
export interface BulkProgress {
  /** Input rows read so far: every row given, valid or not. */
  readonly rowsRead: number;
  /** Rows skipped as invalid (only with `onInvalidRow`). */
  readonly rowsRejected: number;
  /** Visitor rows in the files closed so far (after merging duplicates within a file). */
  readonly rowsEncoded: number;
  readonly filesSubmitted: number;
  /** Files whose batch reached `complete` or `stuck` (only when waiting). */
  readonly filesFinished: number;
}

/**
 * A row `bulkUpdate` skipped, with the caller's position for it: the row's `line` when the input
 * yields `SourceRow`s (from `readCsvRows` / `readNdjsonRows`), otherwise its 0-based index.
 * @example
 * onInvalidRow: ({ position, issues }) => console.error(`row ${position}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`)
 */
export interface InvalidRow {
  readonly position: number;
  /** The rules it broke, paths relative to the update (`attributes.tier`); never the value. */
  readonly issues: readonly ValidationIssue[];
  /** The item as given (the update, or the `SourceRow` with its text), e.g. for a rejects file. */
  readonly row: unknown;
}

/**
 * Options of `bulkUpdate`.
 * @example
 * await target.bulkUpdate(rows, { version: 2, wait: { timeout: 600_000 }, onProgress: console.log, signal });
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
  /** Called while rows are read, after each file is submitted and after each batch finishes. */
  readonly onProgress?: (progress: BulkProgress) => void;
  /**
   * Skips invalid rows, passing each here, instead of stopping at the first. A row that is not an
   * update at all (a `SourceRow` with `issues`) counts as invalid too.
   */
  readonly onInvalidRow?: (row: InvalidRow) => void;
  /**
   * Called, and awaited, before each file is submitted, once it is, and once its batch finished:
   * what a caller needs to checkpoint (each batch's `input` says which positions it holds).
   */
  readonly onBatch?: (event: BulkBatchEvent) => void | Promise<void>;
  /** Stops the bulk update between and during calls; what was submitted stays submitted. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One submitted file: what it held and, when waited for, how it ended.
 * @example
 * for (const batch of report.batches) console.log(batch.batchId, batch.input.first, batch.input.last, batch.status?.status);
 */
export interface BulkBatch extends BatchSubmission {
  readonly rows: number;
  readonly bytes: number;
  readonly idType: BatchFile["idType"];
  /** The input rows it holds, by position (see `InvalidRow.position`). */
  readonly input: BatchInput;
  readonly status?: BatchStatus;
}

/**
 * A file about to be submitted: what it holds.
 * @example
 * onBatch: ({ stage, batch }) => stage === "submitting" && console.log(batch.input.first, batch.input.last)
 */
export type PendingBatch = Pick<BulkBatch, "rows" | "bytes" | "idType" | "input">;

/**
 * A step in a file's life: about to be submitted, submitted (with its batch id), finished (with its
 * final status).
 * @example
 * onBatch: async (event) => { if (event.stage === "submitted") await saveCheckpoint(event.batch); }
 */
export type BulkBatchEvent =
  | { readonly stage: "submitting"; readonly batch: PendingBatch }
  | { readonly stage: "submitted" | "finished"; readonly batch: BulkBatch };

/**
 * What a bulk update did. An empty input is no error: it reports no rows and no files.
 * @example
 * const { rowsRead, rowsRejected, files, rows, batches, failedIds } = await target.bulkUpdate(rows);
 */
export interface BulkReport {
  /** Input rows read: every row given, valid or not (0 for an empty input). */
  readonly rowsRead: number;
  /** Rows skipped as invalid (only with `onInvalidRow`). */
  readonly rowsRejected: number;
  /** Batch files submitted. */
  readonly files: number;
  /** Visitor rows submitted (repeated ids within a file count once). */
  readonly rows: number;
  /** Each submitted file, in order, with its final status when waited for. */
  readonly batches: readonly BulkBatch[];
  /** The ids Target reported as failed, over all batches (known only when waiting). */
  readonly failedIds: readonly string[];
}

/**
 * A row of a bulk input: an update, or a `SourceRow` (from `readCsvRows` / `readNdjsonRows`).
 * @example
 * const rows: AsyncIterable<BulkRow> = readCsvRows(stream);
 */
export type BulkRow = ProfileUpdate | SourceRow;

/** The client calls a bulk update is made of. */
export interface BulkCalls {
  /**
   * Submits a file. Its body is read before this returns (the caller may reuse the bytes then), or
   * with `streams` while the upload runs: the bytes must then stay as they are until it settles.
   */
  submit(
    file: BatchFile | BatchBytes,
    options: { version: BatchVersion; timeout?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<BatchSubmission>;
  wait(submission: BatchSubmission, options: WaitForBatchOptions): Promise<BatchStatus>;
  /** `submit` streams a body of bytes as it uploads it, rather than copy it first. */
  readonly streams?: boolean;
}

const BulkOptionsSchema = v.strictObject(
  {
    version: BatchVersionSchema,
    submitTimeout: v.optional(milliseconds("submitTimeout")),
    // Chosen by type rather than a union, so that polling options' errors name the option.
    wait: v.optional(
      v.lazy((wait) =>
        typeof wait === "object" && wait !== null
          ? PollingOptionsSchema
          : v.boolean("wait must be true, false or polling options { timeout, minInterval, maxInterval }"),
      ),
      true,
    ),
    onProgress: v.optional(functionSchema<NonNullable<BulkUpdateOptions["onProgress"]>>("onProgress")),
    onInvalidRow: v.optional(functionSchema<NonNullable<BulkUpdateOptions["onInvalidRow"]>>("onInvalidRow")),
    onBatch: v.optional(functionSchema<NonNullable<BulkUpdateOptions["onBatch"]>>("onBatch")),
    signal: SignalSchema,
    // Checked by the encoder, with Target's limits.
    maxRows: v.optional(v.unknown()),
    maxBytes: v.optional(v.unknown()),
  },
  (issue) =>
    issue.expected === "never"
      ? "unknown option: bulkUpdate takes version, submitTimeout, wait, onProgress, onInvalidRow, onBatch, signal, maxRows and maxBytes"
      : "options must be an object",
);

// Progress while reading: every this many rows, or this many ms (the clock read every 16 rows).
const PROGRESS_ROWS = 10_000;
const PROGRESS_MS = 500;

/**
 * Encode → submit file by file → optionally wait for every batch. The next file is encoded while
 * the last one is being submitted (one in flight at a time, so Target gets them in order); memory
 * stays bounded by about two files, whatever the input length: the file uploaded (a copy, or when
 * `calls.streams` the encoder's own bytes) and the one being filled. Any failure, a bad row (without
 * `onInvalidRow`) or an abort included, is a `TargetBulkUpdateError` whose `report` lists what
 * Target already has.
 */
export async function bulkUpdate(
  calls: BulkCalls,
  rows: AsyncIterable<BulkRow> | Iterable<BulkRow> | ReadableStream<BulkRow>,
  options: BulkUpdateOptions = {},
): Promise<BulkReport> {
  const { version, submitTimeout, wait, onProgress, onInvalidRow, onBatch, signal } = parseOrThrow(
    BulkOptionsSchema,
    options,
  );
  // A CSV source's records, valid ones as bytes (see readCsvRows), or any rows as they are given.
  const bytes = byteRowsOf(rows);
  const input = bytes ? undefined : anyRows(rows, "bulkUpdate");
  const byteRow = bytes?.byteRow;
  const batches: BulkBatch[] = [];
  let [rowsRead, rowsRejected, rowsEncoded, filesFinished] = [0, 0, 0, 0];
  const report = (): BulkReport => ({
    rowsRead,
    rowsRejected,
    files: batches.length,
    rows: batches.reduce((sum, batch) => sum + batch.rows, 0),
    batches: [...batches],
    failedIds: batches.flatMap((batch) => batch.status?.failedIds ?? []),
  });
  let lastProgress = Date.now();
  const progress = () => {
    lastProgress = Date.now();
    onProgress?.({ rowsRead, rowsRejected, rowsEncoded, filesSubmitted: batches.length, filesFinished });
  };

  // One file in flight: its submission, and the first failure of any.
  let inFlight: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  async function submit(file: BatchBytes): Promise<void> {
    // Called before any await: a submit that copies the body has it before the encoder goes on.
    const { rows: fileRows, bytes, idType, input: held } = file;
    const submitted = calls.submit(file, { version, timeout: submitTimeout, signal });
    const submission = await submitted;
    const batch: BulkBatch = { ...submission, rows: fileRows, bytes, idType, input: held };
    batches.push(batch);
    progress();
    await onBatch?.({ stage: "submitted", batch });
  }
  const polling = wait === false ? undefined : wait === true ? {} : wait;
  // Batches are waited for in the order they were submitted.
  const waitForNext = async () => {
    const batch = batches[filesFinished]!;
    batches[filesFinished] = { ...batch, status: await calls.wait(batch, { ...polling, signal }) };
    filesFinished++;
    progress();
    await onBatch?.({ stage: "finished", batch: batches[filesFinished - 1]! });
  };
  async function send(file: BatchBytes): Promise<void> {
    await settle();
    // Target keeps only the last statuses (docs/target-api.md): older ones would be gone before they are read.
    if (polling && batches.length - filesFinished >= KEPT_BATCH_STATUSES) await waitForNext();
    await onBatch?.({
      stage: "submitting",
      batch: { rows: file.rows, bytes: file.bytes, idType: file.idType, input: file.input },
    });
    rowsEncoded += file.rows;
    inFlight = submit(file).catch((error: unknown) => {
      failure ??= { error };
    });
  }
  async function settle(): Promise<void> {
    await inFlight;
    if (failure) throw failure.error;
  }

  try {
    // Checked here, as before: a bad limit is reported as a stopped bulk update.
    const limits = parseEncodeOptions({ maxRows: options.maxRows, maxBytes: options.maxBytes });
    // A streamed upload reads the file taken while the next one fills the encoder's other buffer;
    // its own is written again only after the next send, which awaits the upload first.
    const encoder = new BatchEncoder(limits, { twoBuffers: calls.streams === true });
    signal?.throwIfAborted();
    // Adds one row; false when its file is full and must be sent first (nothing changed then).
    const take = (item: unknown): boolean => {
      const asBytes = byteRow !== undefined && item === byteRow;
      // Byte rows are never source rows: asked once per row, on the hot path.
      const sourceRow = !asBytes && isSourceRow(item) ? item : undefined;
      const position = asBytes ? byteRow.line : (sourceRow?.line ?? rowsRead);
      const added =
        sourceRow?.issues ?? addRow(encoder, asBytes, byteRow, sourceRow ? sourceRow.update : item, position);
      if (added === "full") return false;
      rowsRead++;
      if (added !== undefined) {
        const issues = added as readonly ValidationIssue[];
        if (!onInvalidRow) throw rowError(position, issues);
        rowsRejected++;
        onInvalidRow({ position, issues, row: asBytes ? bytes!.sourceRow() : item });
      }
      if (rowsRead % 16 === 0) {
        if (failure) throw failure.error;
        signal?.throwIfAborted();
        if (rowsRead % PROGRESS_ROWS === 0 || Date.now() - lastProgress >= PROGRESS_MS) progress();
      }
      return true;
    };
    // A row that did not fit goes into the next file: a file alone takes any row, or refuses it.
    const takeIntoNextFile = async (item: unknown) => {
      await send(encoder.takeBytes());
      if (!take(item)) throw new Error("bulkUpdate: a row did not fit in an empty batch file");
    };
    if (bytes) {
      for (;;) {
        const item = bytes.next();
        if (item === undefined) {
          if (await bytes.more()) continue;
          break;
        }
        if (!take(item)) await takeIntoNextFile(item);
      }
    } else {
      for await (const item of input!) if (!take(item)) await takeIntoNextFile(item);
    }
    progress();
    for (const file of encoder.finishBytes()) await send(file);
    await settle();
    while (polling && filesFinished < batches.length) await waitForNext();
  } catch (error) {
    // What is in flight is Target's (or not) before the report says so.
    await inFlight;
    // Letting go of the input never hides why the update stopped.
    await bytes?.close().catch(() => undefined);
    throw new TargetBulkUpdateError(report(), error);
  }
  return report();
}

/** Adds a row to its file: a CSV source's row of bytes as it lies, or any update (checked then). */
function addRow(
  encoder: BatchEncoder,
  asBytes: boolean,
  byteRow: ByteRow | undefined,
  update: unknown,
  position: number,
): ReturnType<BatchEncoder["add"]> {
  return asBytes ? encoder.addBytes(byteRow!, position) : encoder.add(update, position);
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
