import * as v from "valibot";
import {
  BatchFileBuilder,
  type Added,
  type BatchBytes,
  type BatchFile,
  type BatchLimits,
  type ByteRow,
} from "./batch-file.js";
import { emptyRow, readIdFast, readRow, rowError, type BatchRow } from "./batch-row.js";
import { anyRows, syncRows } from "./rows-input.js";
import type { ValidationIssue } from "../errors.js";
import { MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "../limits.js";
import type { IdType, ProfileUpdate } from "../profile-update.js";
import { parseOrThrow } from "../internal/validation.js";

export type { BatchFile, BatchInput } from "./batch-file.js";

/**
 * Options of `encodeBatches`: smaller files than Target's limits allow.
 * @example
 * const options: EncodeOptions = { maxRows: 10_000, maxBytes: 5 * 1024 * 1024 };
 */
export interface EncodeOptions {
  /** Rows per file: 1 to 500,000 (the default). */
  readonly maxRows?: number;
  /** Bytes per file, `batch=` and header included: 1 to 52,428,799 (the default; files must be under 50 MB). */
  readonly maxBytes?: number;
}

const limit = (max: number) => {
  const message = `must be an integer from 1 to ${max} (Target's limit)`;
  return v.optional(
    v.pipe(v.number(message), v.integer(message), v.minValue(1, message), v.maxValue(max, message)),
    max,
  );
};

const EncodeOptionsSchema = v.optional(
  v.strictObject({ maxRows: limit(MAX_BATCH_ROWS), maxBytes: limit(MAX_BATCH_BYTES) }, (issue) =>
    issue.expected === "never"
      ? "unknown option: encodeBatches takes maxRows and maxBytes"
      : "options must be an object",
  ),
  {},
);

/** Checks `encodeBatches` options: Target's limits by default. */
export const parseEncodeOptions = (options: unknown): BatchLimits => parseOrThrow(EncodeOptionsSchema, options);

/**
 * Encodes profile updates into Bulk Profile Update files, lazily: one file per id type is held
 * while it fills, and yielded when the next row would break a limit (and at the end).
 * The same id twice within one file becomes one row, later values winning per attribute. An id seen
 * again after its file was yielded goes into a later file; Target applies later v2 batches over
 * earlier ones, so keep an id's rows together (or merged) when attributes must not be lost.
 * Rows whose attributes differ go to separate files rather than let empty cells dominate: a file is
 * never more than 4 times the bytes its rows stand for as `name=value` pairs (plus 18 bytes).
 * Each file's `input` says which rows (0-based indexes) it holds.
 * A row breaking a rule throws a `TargetValidationError` whose paths start with its index
 * (`[12].attributes.tier`) when the generator reaches it; files yielded before stay valid.
 * @example
 * for (const file of encodeBatches(rows)) await target.submitBatch(file);
 */
export function encodeBatches(
  rows: Iterable<ProfileUpdate>,
  options?: EncodeOptions,
): Generator<BatchFile, void, undefined> {
  const encoder = new BatchEncoder(parseEncodeOptions(options));
  const input = syncRows(rows, "encodeBatches");
  return (function* () {
    let index = 0;
    for (const row of input) {
      const full = addOrTake(encoder, row, index++);
      if (full) yield full;
    }
    yield* encoder.finish();
  })();
}

/**
 * `encodeBatches` for an async input (a stream, a database cursor, a paginated API).
 * @example
 * for await (const file of encodeBatchesAsync(readRows())) await target.submitBatch(file);
 */
export function encodeBatchesAsync(
  rows: AsyncIterable<ProfileUpdate> | Iterable<ProfileUpdate>,
  options?: EncodeOptions,
): AsyncGenerator<BatchFile, void, undefined> {
  const encoder = new BatchEncoder(parseEncodeOptions(options));
  const input = anyRows(rows, "encodeBatchesAsync");
  return (async function* () {
    let index = 0;
    for await (const row of input) {
      const full = addOrTake(encoder, row, index++);
      if (full) yield full;
    }
    yield* encoder.finish();
  })();
}

/**
 * Adds the row at `index`: the file it closed, if it did not fit there (the row then starts the
 * next). What breaks a rule throws, paths prefixed with the index (`[12].attributes.tier`).
 */
function addOrTake(encoder: BatchEncoder, row: unknown, index: number): BatchFile | undefined {
  let added = encoder.add(row, index);
  let full: BatchFile | undefined;
  if (added === "full") {
    full = encoder.take();
    added = encoder.add(row, index);
  }
  if (added === undefined) return full;
  const issues = added as readonly ValidationIssue[];
  throw rowError(index, issues);
}

/**
 * The open file of each id type, and the names already checked. With `twoBuffers`, a body taken as
 * bytes stays valid while the next file of its id type fills (see `BatchFileBuilder.useTwoBuffers`).
 */
export class BatchEncoder {
  readonly #limits: BatchLimits;
  readonly #twoBuffers: boolean;
  readonly #open = new Map<IdType, BatchFileBuilder>();
  readonly #knownNames = new Set<string>();
  readonly #row = emptyRow();
  // The builder of the last row's id type (inputs rarely mix them).
  #last: BatchFileBuilder | undefined;

  constructor(limits: BatchLimits, { twoBuffers = false } = {}) {
    this.#limits = limits;
    this.#twoBuffers = twoBuffers;
  }

  /**
   * Checks the update found at `position` and adds it (`undefined`); or answers the rules it breaks
   * (paths relative to it); or `"full"`: it does not fit in its id type's open file, which `take`
   * (or `takeBytes`) hands over next, before the same update is added again. Only `undefined`
   * changes anything.
   */
  add(input: unknown, position: number): undefined | "full" | readonly ValidationIssue[] {
    // The usual row in one pass; the first rows of a file, and any doubt, the longer way below.
    const attributes = readIdFast(input, this.#row, false);
    if (attributes !== undefined) {
      const added = this.#builder(this.#row.idType).addAttributes(this.#row.id, attributes, position);
      if (added !== undefined) return this.#answer(added);
    }
    const row = readRow(input, this.#knownNames, this.#row, false);
    if (Array.isArray(row)) return row as readonly ValidationIssue[];
    const added = this.#builder((row as BatchRow).idType).add(row as BatchRow, position);
    return added === "not text"
      ? (readRow(input, this.#knownNames) as readonly ValidationIssue[])
      : this.#answer(added);
  }

  /** `add` for a row of bytes as it lies in a CSV source, valid already (`ByteRow`). */
  addBytes(row: ByteRow, position: number): undefined | "full" | readonly ValidationIssue[] {
    return this.#answer(this.#builder(row.idType).addBytes(row, position));
  }

  /** The open file of `idType`. */
  #builder(idType: IdType): BatchFileBuilder {
    let builder = this.#last?.idType === idType ? this.#last : this.#open.get(idType);
    if (!builder) {
      builder = new BatchFileBuilder(idType, this.#limits);
      if (this.#twoBuffers) builder.useTwoBuffers();
      this.#open.set(idType, builder);
    }
    this.#last = builder;
    return builder;
  }

  #answer(added: Exclude<Added, "not text">): undefined | "full" | readonly ValidationIssue[] {
    if (added === "added") return undefined;
    if (added === "full") return "full";
    return [
      {
        path: "",
        message: `the row does not fit in a batch file even alone (maxBytes is ${this.#limits.maxBytes}; Target takes files under 50 MB)`,
      },
    ];
  }

  /** After `add` answered `"full"`: the file it did not fit in. */
  take(): BatchFile {
    return this.#last!.take();
  }

  /**
   * `take`, the body as bytes valid until the next `add`; with `twoBuffers`, until the first `add`
   * after the next `takeBytes` (see `BatchFileBuilder.takeBytes`).
   */
  takeBytes(): BatchBytes {
    return this.#last!.takeBytes();
  }

  /**
   * The files still open, as bytes, one at a time: each body stays valid (nothing is added after
   * them), and with `twoBuffers` so does the body of the last `takeBytes`.
   */
  *finishBytes(): Generator<BatchBytes, void, undefined> {
    this.#last = undefined;
    for (const [idType, builder] of this.#open) {
      this.#open.delete(idType);
      if (builder.rows > 0) yield builder.takeBytes();
    }
  }

  /** The files still open, one at a time (each body is as large as a file gets). */
  *finish(): Generator<BatchFile, void, undefined> {
    this.#last = undefined;
    for (const [idType, builder] of this.#open) {
      this.#open.delete(idType);
      if (builder.rows > 0) yield builder.take();
    }
  }
}

// V8 drops the optimized code of a class's methods once its last instance is collected (the hidden
// classes it checks go with it), so each `encodeBatches` after a GC would warm up again: an encoder
// and a builder kept for the module's life keep those hidden classes.
const keptForShapes = [
  new BatchEncoder({ maxRows: 1, maxBytes: 1 }),
  new BatchFileBuilder("thirdPartyId", { maxRows: 1, maxBytes: 1 }),
];
void keptForShapes;
