// Reads a bulk update body the way docs/target-api.md says the server does: take the `batch` form
// field (it ends at the first raw `&`), split it into lines and cells, then form-decode each cell.
// Bodies hold up to 500,000 rows, so the bytes are read where they lie: no text of the body, no
// array of lines or cells. A first pass checks every row and builds nothing; the rows are read
// again when applied, one at a time, into the same row, their values left in the body (the profile
// store decodes a value when it is read).
import { decodeFormBytes, isAsciiEscape, isFormBytesValid } from "./form-decoding.js";
import { MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "../limits.js";
import { isReservedAttributeName, isValidAttributeName, RESERVED_NAME_RULE } from "./limits.js";

export type BatchIdType = "thirdPartyId" | "pcId";

/**
 * One row: its id, where it starts in the body, and the columns of its non-empty cells (empty
 * cells never clear anything), `count` of them in header order (1: the first attribute).
 */
export interface BatchRow {
  id: string;
  start: number;
  count: number;
  readonly columns: Int32Array;
}

/** The rows of a body as they lie there: cells are read, and decoded, on demand. */
export interface BatchRows {
  /** The header: the id type, then the attribute names. */
  readonly columns: readonly string[];
  /** Writes the columns of the non-empty cells of the row starting at `start` into `into`; answers how many. */
  valued(start: number, into: Int32Array): number;
  /** The value of the cell at `column` of the row starting at `start` (`""`: empty). */
  value(start: number, column: number): string;
}

/** A checked batch. Rows are read again on demand rather than kept: 500,000 rows would outlive the parse. */
export interface ParsedBatch {
  idType: BatchIdType;
  /**
   * Rows that are not skipped. A row with no non-empty attribute cell updates nothing and creates no
   * profile ("empty values are ignored"), so it is skipped; a batch of only such rows is skipped whole.
   */
  size: number;
  /** The rows not skipped, in order, each read into the same `BatchRow` (use it before the next). */
  rows(): Iterable<BatchRow>;
  /** Every row's cells, where they lie: what a profile store keeps of a row. */
  source: BatchRows;
}

/** A refused batch: Target's message and the HTTP status it comes with. */
export type BatchParseResult = { ok: true; batch: ParsedBatch } | { ok: false; message: string; status: number };

/** What Target says when a cell holds a malformed `%` escape: documented as HTTP 200, `success=false`. */
const MALFORMED = { ok: false, message: "Unexpected error", status: 200 } as const;
/** What Target says when no row is left (e.g. a raw `&` in the header); we give it the same HTTP 200. */
const EMPTY = { ok: false, message: "Batch is empty", status: 200 } as const;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const PREFIX = Array.from("batch=", (char) => char.charCodeAt(0));
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const AMPERSAND = 0x26;
const COMMA = 0x2c;
const PERCENT = 0x25;

export function parseBatchBody(body: Uint8Array): BatchParseResult {
  if (body.byteLength > MAX_BATCH_BYTES) return refuse("Batch file must be smaller than 50 MB");
  if (!isUtf8(body)) return MALFORMED;
  if (PREFIX.some((byte, at) => body[at] !== byte)) return refuse("Missing batch parameter");
  const field = { start: PREFIX.length, end: body.indexOf(AMPERSAND, PREFIX.length) };
  if (field.end < 0) field.end = body.length;

  const headerEnd = lineEnd(body, field.start, field.end);
  const columns: string[] = [];
  try {
    for (let cell = field.start, stop = textEnd(body, field.start, headerEnd); cell <= stop;) {
      const comma = cellEnd(body, cell, stop);
      columns.push(decodeFormBytes(body, cell, comma));
      cell = comma + 1;
    }
  } catch {
    return MALFORMED;
  }
  const idType = columns[0];
  if (idType !== "thirdPartyId" && idType !== "pcId") return refuse("The first column must be thirdPartyId or pcId");
  if (!columns.slice(1).every(isValidAttributeName)) {
    const rule = columns.slice(1).some(isReservedAttributeName) ? `: ${RESERVED_NAME_RULE}` : "";
    return refuse(`Invalid attribute name in header${rule}`);
  }
  // Check every row now, so that a bad cell anywhere refuses the whole batch before anything is applied.
  const checked = checkRows(body, headerEnd + 1, field.end, columns.length);
  if (typeof checked !== "number") return checked;
  const source = new BodyRows(body, columns, field.end);
  return { ok: true, batch: { idType, size: checked, rows: () => readRows(source, headerEnd + 1), source } };
}

/** Whether the body is UTF-8 (ASCII, usually: then without a decoder). */
function isUtf8(body: Uint8Array): boolean {
  // Four bytes at a time where they are aligned: a 50 MB body is looked at in a few milliseconds.
  let at = Math.min(body.length, (4 - (body.byteOffset % 4)) % 4);
  if (body.subarray(0, at).some((byte) => byte >= 0x80)) return utf8Decodes(body);
  const words = new Uint32Array(body.buffer, body.byteOffset + at, (body.length - at) >> 2);
  for (let word = 0; word < words.length; word++) if ((words[word]! & 0x80808080) !== 0) return utf8Decodes(body);
  for (at += 4 * words.length; at < body.length; at++) if (body[at]! >= 0x80) return utf8Decodes(body);
  return true;
}

function utf8Decodes(body: Uint8Array): boolean {
  try {
    utf8.decode(body);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every row of `[start, end)` checked, in order: the first that breaks a rule refuses the batch
 * (too many rows, more cells than the header, a malformed escape). Answers how many hold a value.
 * One pass over the bytes, which mostly are letters and digits: above `,` in ASCII.
 */
function checkRows(body: Uint8Array, start: number, end: number, width: number): number | BatchParseResult {
  let lines = 0;
  let size = 0;
  // The line and cell being read: where they start, and what was found in them so far.
  let line = start;
  let cell = start;
  let cells = 1;
  let valued = false;
  // Whether the cell holds an escape that only decoding the cell can check (of a byte past ASCII, or malformed).
  let unchecked = false;
  let malformed = false;
  for (let at = start; at <= end; at++) {
    const byte = at < end ? body[at]! : NEWLINE;
    if (byte > COMMA) continue;
    if (byte === PERCENT && !isAsciiEscape(body, at, end)) unchecked = true;
    if (byte !== COMMA && byte !== NEWLINE) continue;
    const stop = byte === NEWLINE ? textEnd(body, line, at) : at;
    if (unchecked && !malformed) malformed = !isFormBytesValid(body, cell, stop);
    if (cells > 1 && stop > cell) valued = true;
    cell = at + 1;
    unchecked = false;
    if (byte === COMMA) {
      cells++;
      continue;
    }
    if (stop > line) {
      if (++lines > MAX_BATCH_ROWS) return refuse(`Batch file must hold at most ${MAX_BATCH_ROWS} rows`);
      if (cells > width) return refuse(`Row ${lines} has more cells than the header`);
      if (malformed) return MALFORMED;
      if (valued) size++;
    }
    line = at + 1;
    cells = 1;
    valued = malformed = false;
  }
  return lines === 0 ? EMPTY : size;
}

/**
 * The checked rows from `start` that hold a value, read one by one into the same row, and handed
 * out in the same iterator result: nothing is made per row.
 */
function readRows(rows: BodyRows, start: number): IterableIterator<BatchRow> {
  const row: BatchRow = { id: "", start: 0, count: 0, columns: new Int32Array(rows.columns.length) };
  const result: IteratorResult<BatchRow> = { done: false, value: row };
  let next = start;
  return {
    next() {
      while (next <= rows.end) {
        const line = next;
        const count = rows.valued(line, row.columns);
        next = rows.lineEnd + 1;
        if (count === 0) continue;
        row.id = decodeFormBytes(rows.body, line, rows.idEnd);
        row.start = line;
        row.count = count;
        return result;
      }
      return { done: true, value: undefined };
    },
    [Symbol.iterator]() {
      return this;
    },
  };
}

/** A checked body's rows, read where they lie. */
class BodyRows implements BatchRows {
  /** Where the line last read by `valued` ends, and its id. */
  lineEnd = 0;
  idEnd = 0;

  constructor(
    readonly body: Uint8Array,
    readonly columns: readonly string[],
    /** Where the batch field ends. */
    readonly end: number,
  ) {}

  valued(start: number, into: Int32Array): number {
    const { body, end } = this;
    // One pass over the line: its commas, and whether each cell holds anything.
    let count = 0;
    let column = 0;
    let cell = start;
    let at = start;
    for (; at < end; at++) {
      const byte = body[at]!;
      if (byte > COMMA) continue;
      if (byte === NEWLINE) break;
      if (byte !== COMMA) continue;
      if (column === 0) this.idEnd = at;
      else if (at > cell) into[count++] = column;
      column++;
      cell = at + 1;
    }
    this.lineEnd = at;
    const stop = textEnd(body, start, at);
    if (column === 0) this.idEnd = stop;
    else if (stop > cell) into[count++] = column;
    return count;
  }

  value(start: number, column: number): string {
    const { body } = this;
    const stop = textEnd(body, start, lineEnd(body, start, this.end));
    let cell = start;
    for (let skipped = 0; skipped < column; skipped++) cell = cellEnd(body, cell, stop) + 1;
    return cell > stop ? "" : decodeFormBytes(body, cell, cellEnd(body, cell, stop));
  }
}

/** Where the line starting at `start` ends: its `\n`, or the end of the field. */
function lineEnd(body: Uint8Array, start: number, end: number): number {
  const newline = body.indexOf(NEWLINE, start);
  return newline < 0 || newline > end ? end : newline;
}

/** Where the line's text ends: before a `\r` that ends it. */
function textEnd(body: Uint8Array, start: number, end: number): number {
  return end > start && body[end - 1] === RETURN ? end - 1 : end;
}

/** Where the cell starting at `start` ends: its comma, or the end of the line's text. */
function cellEnd(body: Uint8Array, start: number, stop: number): number {
  const comma = body.indexOf(COMMA, start);
  return comma < 0 || comma > stop ? stop : comma;
}

function refuse(message: string, status = 400): BatchParseResult {
  return { ok: false, message, status };
}
