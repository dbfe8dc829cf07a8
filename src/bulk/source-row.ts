// One row as a row source read it from a file: where it was, its text, and the update it holds.
import type { ValidationIssue } from "../errors.js";
import type { ProfileUpdate } from "../profile-update.js";
import type { ByteRow } from "./batch-file.js";

/**
 * A row read from CSV or NDJSON text by `readCsvRows` / `readNdjsonRows`: its line number and
 * text, and the update it holds (not yet checked: `bulkUpdate` and `checkProfileUpdate` do that),
 * or, when the text is not an update at all (malformed JSON, a wrong number of cells, no id), why.
 * `bulkUpdate` takes such rows as they are, and reports each by its `line`.
 * @example
 * for await (const row of readCsvRows(file.stream())) {
 *   if (row.issues) console.error(`line ${row.line}: ${row.issues[0]?.message}`);
 * }
 */
export interface SourceRow {
  /** The 1-based line the row starts on (a quoted CSV cell may span lines). */
  readonly line: number;
  /** The row's text as read, without its line break: what a rejects file shows. */
  readonly text: string;
  /** The update the row holds; absent when `issues` says why there is none. */
  readonly update?: ProfileUpdate;
  /** Why the text holds no update (the field and the rule, never the value). */
  readonly issues?: readonly ValidationIssue[];
}

/** Whether a bulk input's item is a `SourceRow` rather than an update (updates have no `line`). */
export function isSourceRow(item: unknown): item is SourceRow {
  return (
    typeof item === "object" &&
    item !== null &&
    typeof (item as SourceRow).line === "number" &&
    typeof (item as SourceRow).text === "string"
  );
}

/** A CSV record's row as it lies in its bytes (valid: `bulkUpdate` adds it as it is), and its line. */
export interface LineByteRow extends ByteRow {
  readonly line: number;
}

/**
 * The rows of a source read as bytes, for `bulkUpdate`, pulled one at a time without a promise
 * each (a million rows through an async generator cost more than reading them): `next()` answers
 * `byteRow` itself (refilled for each record, valid until the next is asked for) for a record that
 * is a valid update as it lies, else the record's `SourceRow`, or `undefined` once what was read is
 * used up; `more()` then reads on (false at the end). `sourceRow()` makes the `SourceRow` of the
 * record `byteRow` holds now; `close()` lets go of the input when the rows are left early.
 */
export interface ByteRows {
  next(): SourceRow | LineByteRow | undefined;
  more(): Promise<boolean>;
  close(): Promise<void>;
  readonly byteRow: LineByteRow;
  sourceRow(): SourceRow;
}

const BYTE_ROWS = Symbol("byte rows");

/** `rows`, able to hand `bulkUpdate` its input's bytes instead (`open` answers undefined once it cannot). */
export function withByteRows<T extends object>(rows: T, open: () => ByteRows | undefined): T {
  return Object.defineProperty(rows, BYTE_ROWS, { value: open });
}

/** The bytes behind a bulk input, when it came from a row source that has them and nothing was read yet. */
export function byteRowsOf(input: unknown): ByteRows | undefined {
  const open =
    typeof input === "object" && input !== null ? (input as { [BYTE_ROWS]?: unknown })[BYTE_ROWS] : undefined;
  return typeof open === "function" ? (open as () => ByteRows | undefined)() : undefined;
}
