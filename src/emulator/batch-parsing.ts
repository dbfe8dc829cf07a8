// Reads a bulk update body the way docs/target-api.md says the server does: take the `batch` form
// field (it ends at the first raw `&`), split it into lines and cells, then form-decode each cell.
// Bodies hold up to 500,000 rows, so the bytes are read where they lie: no text of the body, no
// array of lines or cells. A first pass checks every row and builds nothing, while the body arrives
// (BatchCheck); the rows are read again when applied, one at a time, into the same row, their values
// left in the body (the profile store decodes a value when it is read).
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
  rows(): IterableIterator<BatchRow>;
  /** The ids, decoded, of the rows not skipped whose id bytes `body[from, to)` are `suspect`, in order. */
  idsWhere(suspect: (body: Uint8Array, from: number, to: number) => boolean): string[];
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
  return new BatchCheck().finish(body);
}

/** A batch's header: the id type and attribute names, and where the line holding them ends. */
interface Header {
  readonly columns: readonly string[];
  readonly idType: BatchIdType;
  readonly end: number;
}

/**
 * Checks a body while it arrives, whole lines at a time (a line holds its escapes and UTF-8
 * sequences whole): a 50 MB batch is then checked by the time its last byte is in. `finish`, given
 * the whole body, answers as if it had all been checked at once, refusals in the same order.
 */
export class BatchCheck {
  /** The bytes before this are checked: as UTF-8, and those of the batch field as its lines. */
  #checked = 0;
  #utf8 = true;
  /** Where the batch field ends (its first raw `&`, or the body's end), once known; else -1. */
  #fieldEnd = -1;
  /** The header, or why it is refused; undefined until its line is in. */
  #header: Header | BatchParseResult | undefined;
  /** How many rows (non-empty lines) were checked; those holding a value are in the table. */
  #lines = 0;
  #table: RowTable | undefined;
  /** The first row that breaks a rule: the batch is refused for it. */
  #refusal: BatchParseResult | undefined;

  /** Checks what has arrived: the body's first `received` bytes. */
  feed(body: Uint8Array, received: number): void {
    // Past the limit the batch is refused, whatever it holds.
    if (received > MAX_BATCH_BYTES) return;
    const lines = body.subarray(0, received).lastIndexOf(NEWLINE) + 1;
    if (lines > this.#checked) this.#check(body.subarray(0, lines), false, body.length);
  }

  /** Checks the rest of the whole body, and answers. */
  finish(body: Uint8Array): BatchParseResult {
    if (body.byteLength > MAX_BATCH_BYTES) return refuse("Batch file must be smaller than 50 MB");
    this.#check(body, true, body.length);
    const header = this.#header!;
    if (!this.#utf8) return MALFORMED;
    if ("ok" in header) return header;
    // Every row is checked first, so that a bad cell anywhere refuses the whole batch before anything is applied.
    if (this.#refusal !== undefined) return this.#refusal;
    if (this.#lines === 0) return EMPTY;
    const { idType, columns } = header;
    const [source, table] = [new BodyRows(body, columns, this.#fieldEnd), this.#table!];
    const batch: ParsedBatch = {
      idType,
      size: table.count,
      rows: () => readRows(source, table),
      idsWhere: (suspect) => readIds(body, table, suspect),
      source,
    };
    return { ok: true, batch };
  }

  /**
   * Checks `body` from where the last check stopped; `last`: it is the whole body, else the first
   * lines of a body of `length` bytes (or more).
   */
  #check(body: Uint8Array, last: boolean, length: number): void {
    const from = this.#checked;
    this.#checked = body.length;
    if (this.#fieldEnd < 0) {
      const ampersand = body.indexOf(AMPERSAND, Math.max(from, PREFIX.length));
      if (ampersand >= 0) this.#fieldEnd = ampersand;
      else if (last) this.#fieldEnd = body.length;
    }
    // Rows are checked up to the field's end, once known, else up to the last line break in.
    const end = this.#fieldEnd >= 0 ? this.#fieldEnd : body.length - 1;
    this.#header ??= readHeader(body, end);
    const header = this.#header;
    // The rows' bytes, `[rows, end)`, read as ASCII by the row check, need no UTF-8 check of their own.
    let rows = end;
    if (!("ok" in header) && this.#refusal === undefined && from <= end) {
      // Room for as many rows as the body can hold: pages never written cost nothing.
      this.#table ??= new RowTable(header.columns.length, Math.min(MAX_BATCH_ROWS, length >> 1) + 1);
      const table = this.#table;
      rows = Math.max(from, header.end + 1);
      const lines = checkRows(body, rows, end, this.#lines, table);
      if (typeof lines === "number") this.#lines = lines;
      else this.#refusal = lines;
      if (typeof lines !== "number" || !table.ascii) rows = end;
    }
    if (this.#utf8) {
      // Split where ASCII rows start and end, each side is UTF-8 just when the whole is.
      this.#utf8 =
        rows < end ? isUtf8(body.subarray(from, rows)) && isUtf8(body.subarray(end)) : isUtf8(body.subarray(from));
    }
  }
}

/** The header, at the start of a field ending at `end`, or why it is refused. */
function readHeader(body: Uint8Array, end: number): Header | BatchParseResult {
  if (PREFIX.some((byte, at) => body[at] !== byte)) return refuse("Missing batch parameter");
  const start = PREFIX.length;
  const headerEnd = lineEnd(body, start, end);
  const columns: string[] = [];
  try {
    for (let cell = start, stop = textEnd(body, start, headerEnd); cell <= stop;) {
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
  return { columns, idType, end: headerEnd };
}

/** Whether the body is UTF-8 (ASCII, usually: then without a decoder). */
function isUtf8(body: Uint8Array): boolean {
  // Four bytes at a time where they are aligned: a 50 MB body is looked at in a few milliseconds.
  let at = (4 - (body.byteOffset % 4)) % 4;
  if (at >= body.length) return body.every((byte) => byte < 0x80) || utf8Decodes(body);
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
 * Every row of `[start, end)` checked, in order, after `lines` rows before it: the first that breaks
 * a rule refuses the batch (too many rows, more cells than the header, a malformed escape). Each row
 * holding a value goes in `table`; answers how many rows there are now. One pass over the bytes,
 * which mostly are letters and digits: above `,` in ASCII.
 */
function checkRows(
  body: Uint8Array,
  start: number,
  end: number,
  lines: number,
  table: RowTable,
): number | BatchParseResult {
  const width = table.width;
  // Where the next row holding a value is written in the table (its start, its id's end, its cells).
  let words = table.words;
  let slot = table.count * table.stride;
  // The line and cell being read: where they start, and what was found in them so far.
  let line = start;
  let cell = start;
  let cells = 1;
  let idEnd = start;
  // The bits of the row's first 32 columns (the table holds those of any further ones).
  let bits = 0;
  let valued = false;
  // Whether the cell holds an escape that only decoding the cell can check (of a byte past ASCII, or malformed).
  let unchecked = false;
  let malformed = false;
  // Every byte read above `,`, or-ed: whether one is past ASCII (then the rows are checked as UTF-8 too).
  let high = 0;
  for (let at = start; at <= end; at++) {
    // Letters and digits (above `,`) run on: skipped in a loop of their own.
    let byte = NEWLINE;
    for (; at < end; at++) {
      byte = body[at]!;
      if (byte <= COMMA) break;
      high |= byte;
    }
    if (at === end) byte = NEWLINE;
    if (byte === PERCENT) {
      // An escape of an ASCII byte is checked here, its digits skipped; any other, with its cell.
      if (isAsciiEscape(body, at, end)) at += 2;
      else unchecked = true;
      continue;
    }
    if (byte !== COMMA && byte !== NEWLINE) continue;
    const stop = byte === NEWLINE ? textEnd(body, line, at) : at;
    if (unchecked && !malformed) malformed = !isFormBytesValid(body, cell, stop);
    // The id's cell ends here; a later one holding anything is set in the row's bits (one a column).
    if (cells === 1) idEnd = stop;
    else if (stop > cell) {
      valued = true;
      if (cells <= 32) bits |= 1 << (cells - 1);
      else if (cells <= width) words[slot + 2 + ((cells - 1) >> 5)]! |= 1 << ((cells - 1) & 31);
    }
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
      if (valued) {
        words[slot] = line;
        words[slot + 1] = idEnd;
        words[slot + 2] = bits;
        words = table.add();
        slot += table.stride;
      }
    }
    line = at + 1;
    cells = 1;
    bits = 0;
    valued = malformed = false;
  }
  if (high >= 0x80) table.ascii = false;
  return lines;
}

/**
 * The rows holding a value, as the check found them: for each, where it starts, where its id ends,
 * and a bit for each column whose cell holds a value. Applying a batch then reads no row again.
 */
class RowTable {
  /** Numbers a row: its start, its id's end, then `ceil(width / 32)` words of bits. */
  readonly stride: number;
  words: Int32Array;
  count = 0;
  /** Whether every byte of the rows checked so far is ASCII. */
  ascii = true;

  /** `rows`: how many rows to make room for at first. */
  constructor(
    readonly width: number,
    rows: number,
  ) {
    this.stride = 2 + Math.ceil(width / 32);
    this.words = new Int32Array(this.stride * rows);
  }

  /** Counts the row just written, and makes room for the next (whose bits are all clear). */
  add(): Int32Array {
    if (++this.count * this.stride + this.stride > this.words.length) {
      const words = new Int32Array(2 * this.words.length);
      words.set(this.words);
      this.words = words;
    }
    return this.words;
  }
}

/**
 * The rows of the table, read one by one into the same row, and handed out in the same iterator
 * result: nothing is made per row.
 */
function readRows(rows: BodyRows, table: RowTable): IterableIterator<BatchRow> {
  const row: BatchRow = { id: "", start: 0, count: 0, columns: new Int32Array(rows.columns.length) };
  const result: IteratorResult<BatchRow> = { done: false, value: row };
  const { words, stride, count } = table;
  let next = 0;
  return {
    next() {
      if (next === count) return { done: true, value: undefined };
      const slot = stride * next++;
      let valued = 0;
      for (let word = 0; word < stride - 2; word++) {
        // Each bit set, lowest first: its column.
        for (let bits = words[slot + 2 + word]!; bits !== 0; bits &= bits - 1) {
          row.columns[valued++] = 32 * word + 31 - Math.clz32(bits & -bits);
        }
      }
      row.start = words[slot]!;
      row.id = decodeFormBytes(rows.body, row.start, words[slot + 1]!);
      row.count = valued;
      return result;
    },
    [Symbol.iterator]() {
      return this;
    },
  };
}

/** The ids, decoded, of the table's rows whose id bytes are `suspect`, in order. */
function readIds(
  body: Uint8Array,
  table: RowTable,
  suspect: (body: Uint8Array, from: number, to: number) => boolean,
): string[] {
  const ids: string[] = [];
  const { words, stride, count } = table;
  for (let slot = 0; slot < count * stride; slot += stride) {
    const [start, idEnd] = [words[slot]!, words[slot + 1]!];
    if (suspect(body, start, idEnd)) ids.push(decodeFormBytes(body, start, idEnd));
  }
  return ids;
}

/** A checked body's rows, read where they lie. */
class BodyRows implements BatchRows {
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
      if (column > 0 && at > cell) into[count++] = column;
      column++;
      cell = at + 1;
    }
    if (column > 0 && textEnd(body, start, at) > cell) into[count++] = column;
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
