import type { BatchRow } from "./batch-row.js";
import type { IdType } from "../profile-update.js";

/**
 * One Bulk Profile Update file, ready to be the body of a `batchUpdate` POST.
 * @example
 * // body: "batch=thirdPartyId,tier,ltv\ncrm-1,gold,1200\ncrm-2,silver,"
 * const file: BatchFile = { body, rows: 2, bytes: body.length, idType: "thirdPartyId", columns: ["tier", "ltv"] };
 */
export interface BatchFile {
  /** `batch=`, the header line, then one line per visitor; every name and cell URL-encoded. */
  readonly body: string;
  /** Visitor lines (the header not counted). */
  readonly rows: number;
  /** The body's UTF-8 length (the body is plain ASCII, so also its length). */
  readonly bytes: number;
  /** What keys every row of this file: customer ids (`thirdPartyId`) or Target visitor ids (`pcId`). */
  readonly idType: IdType;
  /** Attribute names, bare and unencoded, in header order. */
  readonly columns: readonly string[];
}

export interface BatchLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
// Every row has a slot of two numbers: where its text starts, and how many cells it holds (-1 once a
// merge replaced it). Rows lie in slot order, so a row ends where the next one starts.
const START = 0;
const WIDTH = 1;
const SLOT = 2;
// Past this, the buffer grows straight to a full file's size: no more copies, and pages never
// written cost no memory.
const LARGE = 1024 * 1024;
// Room past a full file's text for the row being tried: its worst case is 9 bytes a character, and
// Target keeps at most 64 KB per profile. (Pages never written cost no memory.)
const SLACK = 1024 * 1024;

const decoder = new TextDecoder();

/**
 * The batch file being filled for one id type: one row per id (a repeated id is merged into its
 * row, later values winning), its exact size checked against the limits before a row is taken.
 * `take` hands the file over and starts the next one in the same memory.
 *
 * The text is kept URL-encoded in one byte buffer: `\n`, the id, then `,` and a cell per column the
 * row needed when written. A new column thus costs the rows already there nothing until `take` pads
 * them, in place. A merged row is appended anew, its old text left dead until a compaction (rather
 * than a larger buffer). Ids are found through an open-addressing hash table of row slots: besides
 * its text, a row costs about 16 bytes.
 */
export class BatchFileBuilder {
  readonly idType: IdType;
  readonly #limits: BatchLimits;
  #columns: string[] = [];
  readonly #columnByName = new Map<string, number>();
  #headerBytes: number;
  #bytes = new Uint8Array(4096);
  #used = 0;
  #deadBytes = 0;
  #slots = new Int32Array(64 * SLOT);
  #slotCount = 0;
  // Slot + 1 by id hash (0: empty), linear probing, at most half full.
  #index = new Int32Array(128);
  // Live rows: how many, their bytes, how many cells they hold.
  #rows = 0;
  #rowBytes = 0;
  #cells = 0;

  constructor(idType: IdType, limits: BatchLimits) {
    this.idType = idType;
    this.#limits = limits;
    this.#headerBytes = `batch=${idType}`.length;
  }

  get rows(): number {
    return this.#rows;
  }

  /** Adds the row, or merges it into the row of the same id. False, and nothing changed, when it would break a limit. */
  add(row: BatchRow): boolean {
    // The column of each value: names new to this file would take the next ones.
    const indices: number[] = [];
    const added: string[] = [];
    let headerBytes = this.#headerBytes;
    let inOrder = true;
    for (const name of row.names) {
      let column = this.#columnByName.get(name);
      if (column === undefined) {
        column = this.#columns.length + added.length;
        added.push(name);
        headerBytes += 1 + encodeURIComponent(name).length;
      }
      if (column < (indices.at(-1) ?? 0)) inOrder = false;
      indices.push(column);
    }
    const columns = this.#columns.length + added.length;

    // Write the row past the text, then look its id up.
    let room = 1 + 9 * row.id.length + columns;
    for (const value of row.values) room += typeof value === "number" ? MAX_NUMBER_BYTES : 9 * value.length;
    if (this.#used + room > this.#bytes.length && this.#deadBytes > 0) this.#compact();
    const start = this.#used;
    this.#reserve(start + room);
    const bytes = this.#bytes;
    bytes[start] = NEWLINE;
    const idEnd = percentEncodeInto(row.id, bytes, start + 1);
    let end = idEnd;
    let width = 0;
    const order = inOrder ? undefined : indices.map((_, i) => i).sort((a, b) => indices[a]! - indices[b]!);
    for (let k = 0; k < indices.length; k++) {
      const i = order ? order[k]! : k;
      for (; width < indices[i]!; width++) bytes[end++] = COMMA;
      bytes[end++] = COMMA;
      end = writeValue(row.values[i]!, bytes, end);
      width++;
    }
    const position = this.#find(start + 1, idEnd);
    const slot = this.#index[position]! - 1;

    let oldBytes = 0;
    let oldCells = 0;
    if (slot >= 0) {
      oldBytes = this.#end(slot) - this.#slots[slot * SLOT + START]!;
      oldCells = this.#slots[slot * SLOT + WIDTH]!;
      ({ end, width } = this.#merge(slot, start, idEnd, end));
    }

    const rows = this.#rows + (slot < 0 ? 1 : 0);
    const rowBytes = this.#rowBytes + (end - start) - oldBytes;
    const cells = this.#cells + width - oldCells;
    if (rows > this.#limits.maxRows) return false;
    if (headerBytes + rowBytes + rows * columns - cells > this.#limits.maxBytes) return false;

    for (const name of added) {
      this.#columnByName.set(name, this.#columns.length);
      this.#columns.push(name);
    }
    this.#headerBytes = headerBytes;
    this.#used = end;
    this.#rows = rows;
    this.#rowBytes = rowBytes;
    this.#cells = cells;
    this.#index[position] = this.#addSlot(start, width) + 1;
    if (slot >= 0) {
      this.#slots[slot * SLOT + WIDTH] = -1;
      this.#deadBytes += oldBytes;
    } else if (2 * rows > this.#index.length) {
      this.#rehash(2 * this.#index.length);
    }
    return true;
  }

  /** The finished file; the builder then starts the next one, empty. */
  take(): BatchFile {
    if (this.#deadBytes > 0) this.#compact(false);
    const columns = this.#columns.length;
    const size = this.#headerBytes + this.#rowBytes + this.#rows * columns - this.#cells;
    this.#reserve(size);
    const bytes = this.#bytes;
    // Back to front, move each run of rows to its place, padding short rows with empty cells;
    // the header then takes the front.
    let to = size;
    let runEnd = this.#used;
    for (let slot = this.#slotCount - 1; slot >= 0; slot--) {
      const missing = columns - this.#slots[slot * SLOT + WIDTH]!;
      if (missing === 0) continue;
      const rowEnd = this.#end(slot);
      bytes.copyWithin(to - (runEnd - rowEnd), rowEnd, runEnd);
      to -= runEnd - rowEnd;
      bytes.fill(COMMA, to - missing, to);
      to -= missing;
      runEnd = rowEnd;
    }
    bytes.copyWithin(to - runEnd, 0, runEnd);
    let at = 0;
    for (const char of `batch=${this.idType}`) bytes[at++] = char.charCodeAt(0);
    for (const name of this.#columns) {
      bytes[at++] = COMMA;
      at = percentEncodeInto(name, bytes, at);
    }
    const file = {
      body: decoder.decode(bytes.subarray(0, size)),
      rows: this.#rows,
      bytes: size,
      idType: this.idType,
      columns: this.#columns,
    };

    this.#columns = [];
    this.#columnByName.clear();
    this.#headerBytes = `batch=${this.idType}`.length;
    this.#used = this.#slotCount = this.#rows = this.#rowBytes = this.#cells = 0;
    this.#index.fill(0);
    return file;
  }

  /** Merges the row just written at `[start, end)` with the one of `slot`, over it: the new cells win. */
  #merge(slot: number, start: number, idEnd: number, end: number): { end: number; width: number } {
    const idBytes = idEnd - start;
    const oldStart = this.#slots[slot * SLOT + START]!;
    const oldEnd = this.#end(slot);
    // Written after this row, then moved onto it.
    this.#reserve(end + idBytes + (end - idEnd) + (oldEnd - oldStart), end);
    const bytes = this.#bytes;
    bytes.copyWithin(end, start, idEnd);
    const merged = mergeCells(bytes, idEnd, end, oldStart + idBytes, oldEnd, end + idBytes);
    bytes.copyWithin(start, end, merged.end);
    return { end: start + (merged.end - end), width: merged.width };
  }

  /** Where the id at `bytes[from, to)` is in the index, or the empty place where it would go. */
  #find(from: number, to: number): number {
    const mask = this.#index.length - 1;
    for (let position = hashOf(this.#bytes, from, to) & mask; ; position = (position + 1) & mask) {
      const entry = this.#index[position]!;
      if (entry === 0 || sameId(this.#bytes, this.#slots[(entry - 1) * SLOT + START]! + 1, from, to)) return position;
    }
  }

  #end(slot: number): number {
    return slot + 1 < this.#slotCount ? this.#slots[(slot + 1) * SLOT + START]! : this.#used;
  }

  #addSlot(start: number, width: number): number {
    if ((this.#slotCount + 1) * SLOT > this.#slots.length) {
      const slots = new Int32Array(2 * this.#slots.length);
      slots.set(this.#slots);
      this.#slots = slots;
    }
    const slot = this.#slotCount++;
    this.#slots[slot * SLOT + START] = start;
    this.#slots[slot * SLOT + WIDTH] = width;
    return slot;
  }

  /** Moves the live rows together, dropping the dead ones (a run of live rows moves at once). */
  #compact(reindex = true): void {
    const slots = this.#slots;
    let [used, count, runStart] = [0, 0, 0];
    for (let slot = 0; slot <= this.#slotCount; slot++) {
      const live = slot < this.#slotCount && slots[slot * SLOT + WIDTH]! >= 0;
      if (live) {
        slots[count * SLOT + WIDTH] = slots[slot * SLOT + WIDTH]!;
        slots[count++ * SLOT + START] = used + slots[slot * SLOT + START]! - runStart;
      } else {
        const runEnd = slot < this.#slotCount ? slots[slot * SLOT + START]! : this.#used;
        this.#bytes.copyWithin(used, runStart, runEnd);
        used += runEnd - runStart;
        if (slot < this.#slotCount) runStart = this.#end(slot);
      }
    }
    [this.#used, this.#slotCount, this.#deadBytes] = [used, count, 0];
    if (reindex) this.#rehash(this.#index.length);
  }

  #rehash(capacity: number): void {
    const index = new Int32Array(capacity);
    const mask = capacity - 1;
    const bytes = this.#bytes;
    for (let slot = 0; slot < this.#slotCount; slot++) {
      if (this.#slots[slot * SLOT + WIDTH]! < 0) continue;
      const from = this.#slots[slot * SLOT + START]! + 1;
      let to = from;
      while (bytes[to] !== COMMA) to++;
      let position = hashOf(bytes, from, to) & mask;
      while (index[position] !== 0) position = (position + 1) & mask;
      index[position] = slot + 1;
    }
    this.#index = index;
  }

  /** Room for `needed` bytes, keeping the text up to `keep`. */
  #reserve(needed: number, keep = this.#used): void {
    const length = this.#bytes.length;
    if (needed <= length) return;
    const full = this.#limits.maxBytes + SLACK;
    let capacity = Math.max(needed, 4 * length);
    if (needed <= full && (capacity > full || capacity > LARGE)) capacity = full;
    const bytes = new Uint8Array(capacity);
    bytes.set(this.#bytes.subarray(0, keep));
    this.#bytes = bytes;
  }
}

/** FNV-1a of `bytes[from, to)`. */
function hashOf(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash;
}

/** Whether the row text at `start` begins with the id `bytes[from, to)`, then a comma (ids hold none). */
function sameId(bytes: Uint8Array, start: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[start++] !== bytes[i]) return false;
  return bytes[start] === COMMA;
}

/**
 * Writes at `at` the merged cells of a new row `[newFrom, newTo)` and an old one `[oldFrom, oldTo)`,
 * each a run of `,cell`: the new cell where it has a value (values are never empty), else the old.
 */
function mergeCells(bytes: Uint8Array, newFrom: number, newTo: number, oldFrom: number, oldTo: number, at: number) {
  let width = 0;
  for (; newFrom < newTo || oldFrom < oldTo; width++) {
    const newEnd = cellEnd(bytes, newFrom, newTo);
    const oldEnd = cellEnd(bytes, oldFrom, oldTo);
    const [from, to] = newEnd - newFrom > 1 || oldEnd === oldFrom ? [newFrom, newEnd] : [oldFrom, oldEnd];
    bytes.copyWithin(at, from, to);
    at += to - from;
    newFrom = newEnd;
    oldFrom = oldEnd;
  }
  return { end: at, width };
}

/** The end of the `,cell` starting at `from` (a comma), or `from` itself past the row. */
function cellEnd(bytes: Uint8Array, from: number, to: number): number {
  if (from >= to) return from;
  let end = from + 1;
  while (end < to && bytes[end] !== COMMA) end++;
  return end;
}

// `String(n)` is at most 24 characters (`-1.2345678901234567e-300`), each escaped at most once (`+`).
const MAX_NUMBER_BYTES = 3 * 24;

/** A value as `encodeURIComponent(String(value))` writes it; integers, the usual numbers, without a string. */
function writeValue(value: string | number, bytes: Uint8Array, at: number): number {
  if (typeof value === "string") return percentEncodeInto(value, bytes, at);
  if (!Number.isSafeInteger(value)) return percentEncodeInto(String(value), bytes, at);
  if (value < 0) bytes[at++] = 0x2d;
  let rest = Math.abs(value);
  let digits = 1;
  for (let power = 10; rest >= power; power *= 10) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    const digit = rest % 10;
    bytes[i] = 0x30 + digit;
    rest = (rest - digit) / 10;
  }
  return at + digits;
}

// encodeURIComponent leaves these as they are: A-Z a-z 0-9 - _ . ! ~ * ' ( )
const UNRESERVED = new Uint8Array(128);
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") {
  UNRESERVED[char.charCodeAt(0)] = 1;
}
const HEX = Uint8Array.from("0123456789ABCDEF", (char) => char.charCodeAt(0));

/**
 * Writes `text` as `encodeURIComponent` would (UTF-8, percent-encoded) into `bytes` at `at`, with no
 * string in between; answers where it ended. Needs room for 9 bytes per UTF-16 unit.
 * Throws `URIError` on a lone surrogate, as `encodeURIComponent` does.
 */
export function percentEncodeInto(text: string, bytes: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      if (UNRESERVED[code] === 1) bytes[at++] = code;
      else at = escape(bytes, at, code);
    } else if (code < 0x800) {
      at = escape(bytes, at, 0xc0 | (code >> 6));
      at = escape(bytes, at, 0x80 | (code & 0x3f));
    } else if (code < 0xd800 || code > 0xdfff) {
      at = escape(bytes, at, 0xe0 | (code >> 12));
      at = escape(bytes, at, 0x80 | ((code >> 6) & 0x3f));
      at = escape(bytes, at, 0x80 | (code & 0x3f));
    } else {
      const low = text.charCodeAt(i + 1);
      if (code > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw new URIError("URI malformed");
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      i++;
      at = escape(bytes, at, 0xf0 | (code >> 18));
      at = escape(bytes, at, 0x80 | ((code >> 12) & 0x3f));
      at = escape(bytes, at, 0x80 | ((code >> 6) & 0x3f));
      at = escape(bytes, at, 0x80 | (code & 0x3f));
    }
  }
  return at;
}

function escape(bytes: Uint8Array, at: number, byte: number): number {
  bytes[at] = 0x25;
  bytes[at + 1] = HEX[byte >> 4]!;
  bytes[at + 2] = HEX[byte & 0xf]!;
  return at + 3;
}
