import * as v from "valibot";
import { BatchFileBuilder, type BatchFile, type BatchLimits } from "./batch-file.js";
import { atRow, checkRow } from "./batch-row.js";
import { TargetValidationError } from "../errors.js";
import { MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "../limits.js";
import type { IdType, ProfileUpdate } from "../profile-update.js";
import { parseOrThrow } from "../internal/validation.js";

export type { BatchFile } from "./batch-file.js";

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

// Not strict: a caller may pass on a larger options object.
const EncodeOptionsSchema = v.optional(
  v.object({ maxRows: limit(MAX_BATCH_ROWS), maxBytes: limit(MAX_BATCH_BYTES) }, "options must be an object"),
  {},
);

/**
 * Encodes profile updates into Bulk Profile Update files, lazily: one file per id type is held
 * while it fills, and yielded when the next row would break a limit (and at the end).
 * The same id twice within one file becomes one row, later values winning per attribute. An id seen
 * again after its file was yielded goes into a later file; Target applies later v2 batches over
 * earlier ones, so keep an id's rows together (or merged) when attributes must not be lost.
 * A row breaking a rule throws a `TargetValidationError` whose paths start with its index
 * (`[12].attributes.tier`) when the generator reaches it; files yielded before stay valid.
 * @example
 * for (const file of encodeBatches(rows)) await target.submitBatch(file);
 */
export function encodeBatches(
  rows: Iterable<ProfileUpdate>,
  options?: EncodeOptions,
): Generator<BatchFile, void, undefined> {
  const encoder = new BatchEncoder(parseOrThrow(EncodeOptionsSchema, options));
  return (function* () {
    let index = 0;
    for (const row of rows) {
      const full = encoder.add(row, index++);
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
  const encoder = new BatchEncoder(parseOrThrow(EncodeOptionsSchema, options));
  return (async function* () {
    let index = 0;
    for await (const row of rows) {
      const full = encoder.add(row, index++);
      if (full) yield full;
    }
    yield* encoder.finish();
  })();
}

/** The open file of each id type, and the names already checked. */
class BatchEncoder {
  readonly #limits: BatchLimits;
  readonly #open = new Map<IdType, BatchFileBuilder>();
  readonly #knownNames = new Set<string>();

  constructor(limits: BatchLimits) {
    this.#limits = limits;
  }

  /** Adds the row at `index`; answers the file it closed, if it did not fit there. */
  add(input: unknown, index: number): BatchFile | undefined {
    const row = checkRow(input, index, this.#knownNames);
    let builder = this.#open.get(row.idType);
    if (!builder) this.#open.set(row.idType, (builder = new BatchFileBuilder(row.idType, this.#limits)));
    if (builder.add(row)) return undefined;
    const full = builder.rows > 0 ? builder.take() : undefined;
    if (!builder.add(row)) {
      throw new TargetValidationError([
        {
          path: atRow(index),
          message: `the row does not fit in a batch file even alone (maxBytes is ${this.#limits.maxBytes}; Target takes files under 50 MB)`,
        },
      ]);
    }
    return full;
  }

  /** The files still open, one at a time (each body is as large as a file gets). */
  *finish(): Generator<BatchFile, void, undefined> {
    for (const [idType, builder] of this.#open) {
      this.#open.delete(idType);
      if (builder.rows > 0) yield builder.take();
    }
  }
}
