import { batchCell, hasOwn, inheritsHasOwn, type BatchRow } from "./batch-row.js";
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
  /** The input rows it holds (set by `encodeBatches`; absent on files built elsewhere). */
  readonly input?: BatchInput;
}

/**
 * Which input rows a batch file holds: how many (repeated ids counted each time, before they were
 * merged), and the positions of the first and last. Positions are 0-based input indexes from
 * `encodeBatches`; `bulkUpdate` reports the caller's (a source row's line number).
 * Files of one id type hold consecutive runs of that type's rows: a checkpoint can be derived from them.
 * @example
 * for (const file of encodeBatches(rows)) console.log(`rows ${file.input?.first}..${file.input?.last}`);
 */
export interface BatchInput {
  readonly rows: number;
  readonly first: number;
  readonly last: number;
}

/** A batch file whose body is still bytes (ASCII): what a request takes, without a string in between. */
export interface BatchBytes extends Omit<BatchFile, "body"> {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly input: BatchInput;
}

export interface BatchLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
}

/**
 * A row whose id and values are UTF-8 bytes where they lie (a CSV record's cells), checked already:
 * written percent-encoded as they are, never decoded. Cell `c` is `source[starts[c], ends[c])`,
 * `doubled[c]` when it holds `""` for each quote (a quoted CSV cell).
 */
export interface ByteRow {
  readonly idType: IdType;
  readonly source: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly doubled: Uint8Array;
  /** The id's cell. */
  readonly id: number;
  /** `count` values: the name of each, and its cell. */
  readonly count: number;
  readonly names: readonly string[];
  readonly cells: Int32Array;
}

/**
 * What `BatchFileBuilder.add` did with a row: took it; left it for the next file (it would break a
 * limit, or make padding dominate); or refused it, as too large for any file of `maxBytes`, or
 * because its id or a value is not valid Unicode text (a lone surrogate).
 */
export type Added = "added" | "full" | "too large" | "not text";

/**
 * The bound on padding. A row stands for its id and, per attribute, `name=value` (URL-encoded): the
 * bytes it takes alone in a file, past the `batch=thirdPartyId` prefix. A file, past that prefix,
 * never takes more than `SIZE_BOUND` times what its rows stand for, whatever their column sets: a row
 * that would make the empty cells of the rows lacking its columns (or its own) grow past it starts a
 * new file instead. So a file is at most 4× its input plus 18 bytes; dense rows never come near it.
 */
export const SIZE_BOUND = 4;

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const QUOTE = 0x22;
// Every row has a slot of three numbers: where its text starts, how many cells it holds (-1 once a
// merge replaced it), and the hash of its id. Rows lie in slot order, so a row ends where the next
// one starts.
const START = 0;
const WIDTH = 1;
const HASH = 2;
const SLOT = 3;
// Room past a full file's text for the row being tried: its worst case is 9 bytes a character, and
// Target keeps at most 64 KB per profile. (Pages never written cost no memory.)
const SLACK = 1024 * 1024;
// Room `addAttributes` makes for a row's values (past its id and commas): a longer row is left to `add`.
const ROW_ROOM = 8192;

const decoder = new TextDecoder();

/**
 * The batch file being filled for one id type: one row per id (a repeated id is merged into its
 * row, later values winning), its exact size checked against the limits before a row is taken.
 * `take` hands the file over and starts the next one in the same memory (or, after
 * `useTwoBuffers`, in the other of two).
 *
 * The text is kept URL-encoded in one byte buffer: `\n`, the id, then `,` and a cell per column the
 * row needed when written. A new column thus costs the rows already there nothing until `take` pads
 * them, in place. A merged row is appended anew, its old text left dead until a compaction (rather
 * than a larger buffer). Ids are found through an open-addressing hash table of row slots: besides
 * its text, a row costs about 16 bytes. Nothing is allocated per row.
 */
export class BatchFileBuilder {
  readonly idType: IdType;
  readonly #limits: BatchLimits;
  readonly #prefixBytes: number;
  #columns: string[] = [];
  readonly #columnByName = new Map<string, number>();
  // `,NAME` encoded, by column.
  #nameBytes: number[] = [];
  #headerBytes: number;
  // The file being filled; after `useTwoBuffers`, the other buffer holds the file taken last.
  #bytes = new Uint8Array(4096);
  #other: Uint8Array<ArrayBuffer> | undefined;
  #twoBuffers = false;
  #used = 0;
  #deadBytes = 0;
  #slots = new Int32Array(64 * SLOT);
  #slotCount = 0;
  // By id hash, linear probing, at most half full: places of two numbers, slot + 1 (0: empty) and the
  // hash, so that most ids are told apart without reading their text.
  #index = new Int32Array(2 * 128);
  // Live rows: how many, their bytes, how many cells they hold.
  #rows = 0;
  #rowBytes = 0;
  #cells = 0;
  // What the rows taken stand for (see SIZE_BOUND), and where they were in the input.
  #inputBytes = 0;
  #inputRows = 0;
  #first = 0;
  #last = 0;
  // Per-row scratch: the column of each value, and the names new to this file.
  #rowColumns = new Int32Array(64);
  readonly #newNames: string[] = [];
  readonly #newNameBytes: number[] = [];
  // The column last found for the name at each place of a row: rows mostly repeat their names.
  readonly #seenNames: string[] = [];
  readonly #seenColumns: number[] = [];

  constructor(idType: IdType, limits: BatchLimits) {
    this.idType = idType;
    this.#limits = limits;
    this.#prefixBytes = this.#headerBytes = `batch=${idType}`.length;
  }

  get rows(): number {
    return this.#rows;
  }

  /**
   * Adds the row found at `position` of the input, or merges it into the row of the same id.
   * Unless `"added"`, nothing changed.
   */
  add(row: BatchRow, position: number): Added {
    const { names, values } = row;
    const count = names.length;
    // Room: 9 bytes a character at most (numbers take a bounded width).
    let valueRoom = 0;
    for (let i = 0; i < count; i++) {
      const value = values[i]!;
      valueRoom += typeof value === "number" ? MAX_NUMBER_BYTES : 9 * value.length;
    }
    const columns = this.#findColumns(names, count);
    const start = this.#makeRoom(1 + 9 * row.id.length + columns + valueRoom);
    const bytes = this.#bytes;
    const rowColumns = this.#rowColumns;
    const order = this.#inOrder ? undefined : columnOrder(rowColumns, count);
    bytes[start] = NEWLINE;
    let idEnd: number;
    let end: number;
    let width = 0;
    try {
      end = idEnd = percentEncodeInto(row.id, bytes, start + 1);
      for (let k = 0; k < count; k++) {
        const i = order ? order[k]! : k;
        for (const column = rowColumns[i]!; width < column; width++) bytes[end++] = COMMA;
        bytes[end++] = COMMA;
        const value = values[i]!;
        end = typeof value === "string" ? percentEncodeInto(value, bytes, end) : writeNumber(value, bytes, end);
        width++;
      }
    } catch (error) {
      // A lone surrogate, left for the writing to find (rows are read without that check).
      if (error instanceof URIError) return "not text";
      throw error;
    }
    return this.#place(start, idEnd, end, width, count, position);
  }

  /**
   * `add` for an update whose id was read already and whose `attributes` are as given: checked and
   * written in one pass, with no arrays in between. `undefined` when this way cannot take the row, and
   * nothing changed: a name new to the file or out of its header's order (a file's first rows), a value
   * the rules refuse, or a longer row than it makes room for. `add` then takes the row, or names the rule.
   */
  addAttributes(id: string, attributes: unknown, position: number): Exclude<Added, "not text"> | undefined {
    if (typeof attributes !== "object" || attributes === null) return undefined;
    const plain = inheritsHasOwn(attributes);
    const seenNames = this.#seenNames;
    const seenColumns = this.#seenColumns;
    const nameBytes = this.#nameBytes;
    const roomNeeded = 1 + 9 * id.length + this.#columns.length + ROW_ROOM;
    const start = this.#makeRoom(roomNeeded);
    const bytes = this.#bytes;
    const room = start + roomNeeded;
    bytes[start] = NEWLINE;
    let end: number;
    let idEnd: number;
    let width = 0;
    let count = 0;
    let place = 0;
    let namesBytes = 0;
    let hash: number;
    try {
      end = idEnd = percentEncodeInto(id, bytes, start + 1);
      hash = hashOf(bytes, start + 1, idEnd);
      for (const name in attributes) {
        if (!(plain ? attributes.hasOwnProperty(name) : hasOwn.call(attributes, name))) return undefined;
        // The file's names were checked when they became columns.
        let column = seenColumns[place]!;
        if (seenNames[place] !== name) {
          const found = this.#columnByName.get(name);
          if (found === undefined) return undefined;
          seenNames[place] = name;
          seenColumns[place] = column = found;
        }
        place++;
        const cell = batchCell((attributes as Readonly<Record<string, unknown>>)[name], false);
        if (cell === null) continue;
        if (cell === undefined || column < width) return undefined;
        if (end + (column - width) + 1 + (typeof cell === "number" ? MAX_NUMBER_BYTES : 9 * cell.length) > room) {
          return undefined;
        }
        for (; width < column; width++) bytes[end++] = COMMA;
        bytes[end++] = COMMA;
        end = typeof cell === "number" ? writeNumber(cell, bytes, end) : percentEncodeInto(cell, bytes, end);
        width++;
        count++;
        namesBytes += nameBytes[column]!;
      }
    } catch (error) {
      // A lone surrogate: `add` names it.
      if (error instanceof URIError) return undefined;
      throw error;
    }
    if (count === 0) return undefined;
    // Room for the padding #place writes.
    if (end + this.#columns.length - width > room) return undefined;
    if (this.#newNames.length > 0) this.#newNames.length = this.#newNameBytes.length = 0;
    this.#rowHeaderBytes = this.#headerBytes;
    this.#rowNamesBytes = namesBytes;
    return this.#place(start, idEnd, end, width, count, position, hash);
  }

  /** `add` for a row of UTF-8 bytes where they lie (checked already), percent-encoded as they are. */
  addBytes(row: ByteRow, position: number): Exclude<Added, "not text"> {
    const { names, count, cells, source, starts, ends, doubled } = row;
    // Room: 3 bytes a byte at most.
    let valueRoom = 0;
    for (let i = 0; i < count; i++) valueRoom += 3 * (ends[cells[i]!]! - starts[cells[i]!]!);
    const columns = this.#findColumns(names, count);
    const id = row.id;
    const start = this.#makeRoom(1 + 3 * (ends[id]! - starts[id]!) + columns + valueRoom);
    const bytes = this.#bytes;
    const rowColumns = this.#rowColumns;
    const order = this.#inOrder ? undefined : columnOrder(rowColumns, count);
    bytes[start] = NEWLINE;
    const idEnd = percentEncodeBytes(source, starts[id]!, ends[id]!, doubled[id] === 1, bytes, start + 1);
    let end = idEnd;
    let width = 0;
    for (let k = 0; k < count; k++) {
      const i = order ? order[k]! : k;
      for (const column = rowColumns[i]!; width < column; width++) bytes[end++] = COMMA;
      bytes[end++] = COMMA;
      const cell = cells[i]!;
      end = percentEncodeBytes(source, starts[cell]!, ends[cell]!, doubled[cell] === 1, bytes, end);
      width++;
    }
    return this.#place(start, idEnd, end, width, count, position);
  }

  // What #findColumns found of the row being added.
  #inOrder = true;
  #rowHeaderBytes = 0;
  #rowNamesBytes = 0;

  /**
   * The column of each of the row's `count` names into `#rowColumns` (names new to this file take the
   * next ones, into `#newNames`), the header's size with them and `,NAME` per value; answers how many
   * columns the file has with them.
   */
  #findColumns(names: readonly string[], count: number): number {
    if (this.#rowColumns.length < count) this.#rowColumns = new Int32Array(2 * count);
    const rowColumns = this.#rowColumns;
    const known = this.#columns.length;
    const newNames = this.#newNames;
    const newNameBytes = this.#newNameBytes;
    if (newNames.length > 0) newNames.length = newNameBytes.length = 0;
    let headerBytes = this.#headerBytes;
    let namesBytes = 0;
    let inOrder = true;
    const seenNames = this.#seenNames;
    const seenColumns = this.#seenColumns;
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      let column = seenNames[i] === name ? seenColumns[i] : this.#columnByName.get(name);
      let nameBytes: number;
      if (column === undefined) {
        column = known + newNames.length;
        nameBytes = 1 + encodeURIComponent(name).length;
        newNames.push(name);
        newNameBytes.push(nameBytes);
        headerBytes += nameBytes;
      } else {
        nameBytes = this.#nameBytes[column]!;
        seenNames[i] = name;
        seenColumns[i] = column;
      }
      namesBytes += nameBytes;
      if (i > 0 && column < rowColumns[i - 1]!) inOrder = false;
      rowColumns[i] = column;
    }
    this.#inOrder = inOrder;
    this.#rowHeaderBytes = headerBytes;
    this.#rowNamesBytes = namesBytes;
    return known + newNames.length;
  }

  /** Where a row of at most `room` bytes is written: past the text, the buffer made large enough. */
  #makeRoom(room: number): number {
    // Out of room: drop the dead text first when it is worth a pass (a quarter of the text, or the
    // buffer is as large as it gets); otherwise the buffer grows.
    if (this.#used + room > this.#bytes.length && this.#deadBytes > 0) {
      if (4 * this.#deadBytes >= this.#used || this.#bytes.length >= this.#limits.maxBytes + SLACK) this.#compact();
    }
    this.#reserve(this.#used + room);
    return this.#used;
  }

  /**
   * Takes the row just written at `[start, end)` (its id up to `idEnd`, `width` cells of which
   * `count` hold a value), padded here to the file's width: merged into the row of its id if there
   * is one, when the file's limits and the padding bound allow.
   */
  #place(
    start: number,
    idEnd: number,
    end: number,
    width: number,
    count: number,
    position: number,
    hash = hashOf(this.#bytes, start + 1, idEnd),
  ): Exclude<Added, "not text"> {
    const headerBytes = this.#rowHeaderBytes;
    const columns = this.#columns.length + this.#newNames.length;
    // Padded to the file's width now (every add made room for it): `take` then moves only the rows
    // written before a column was added.
    for (; width < columns; width++) this.#bytes[end++] = COMMA;
    // What the row stands for (its text without the empty cells it was given, and `,NAME` per
    // value): alone in a file, it takes exactly that past the prefix.
    const inputBytes = end - start - (width - count) + this.#rowNamesBytes;
    if (this.#prefixBytes + inputBytes > this.#limits.maxBytes) return "too large";

    const place = this.#find(hash, start + 1, idEnd);
    const slot = this.#index[place]! - 1;
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
    const size = headerBytes + rowBytes + rows * columns - cells;
    const input = this.#inputBytes + inputBytes;
    if (rows > this.#limits.maxRows || size > this.#limits.maxBytes) return "full";
    if (size - this.#prefixBytes > SIZE_BOUND * input) return "full";

    const newNames = this.#newNames;
    const newNameBytes = this.#newNameBytes;
    for (let i = 0; i < newNames.length; i++) {
      this.#columnByName.set(newNames[i]!, this.#columns.length);
      this.#columns.push(newNames[i]!);
      this.#nameBytes.push(newNameBytes[i]!);
    }
    this.#headerBytes = headerBytes;
    this.#used = end;
    this.#rows = rows;
    this.#rowBytes = rowBytes;
    this.#cells = cells;
    this.#inputBytes = input;
    if (this.#inputRows++ === 0) this.#first = position;
    this.#last = position;
    this.#index[place] = this.#addSlot(start, width, hash) + 1;
    this.#index[place + 1] = hash;
    if (slot >= 0) {
      this.#slots[slot * SLOT + WIDTH] = -1;
      this.#deadBytes += oldBytes;
    } else if (4 * rows > this.#index.length) {
      this.#rehash(2 * this.#index.length);
    }
    return "added";
  }

  /**
   * From now on, a body taken as bytes stays valid while the next file fills: until the first `add`
   * after the next `takeBytes` (an upload reads it meanwhile). Files fill two buffers in turn, each
   * made a full file's size at once: growing them would copy, and leave freed blocks that the C
   * allocator keeps (tens of megabytes), while pages never written cost no memory.
   */
  useTwoBuffers(): void {
    this.#twoBuffers = true;
    this.#reserve(this.#limits.maxBytes + SLACK);
    // The rows' slots and id index too, for a full file's rows: grown a doubling at a time, they
    // would be copied and rehashed again and again, in fresh memory each time.
    const rows = this.#limits.maxRows;
    this.#slots = new Int32Array(SLOT * (rows + 1));
    let length = this.#index.length;
    while (4 * rows > length) length *= 2;
    this.#rehash(length);
  }

  /** The finished file; the builder then starts the next one, empty. */
  take(): BatchFile {
    const file = this.takeBytes();
    return { ...file, body: decoder.decode(file.body) };
  }

  /**
   * `take`, the body left as bytes in the builder's own memory: valid until the next `add` only
   * (copy it, as `new Request(url, { body })` does, before adding anything), or after
   * `useTwoBuffers` until the first `add` after the next `takeBytes`.
   */
  takeBytes(): BatchBytes {
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
    const file: BatchBytes = {
      body: bytes.subarray(0, size),
      rows: this.#rows,
      bytes: size,
      idType: this.idType,
      columns: this.#columns,
      input: { rows: this.#inputRows, first: this.#first, last: this.#last },
    };

    this.#columns = [];
    this.#nameBytes = [];
    this.#columnByName.clear();
    this.#seenNames.length = this.#seenColumns.length = 0;
    this.#headerBytes = this.#prefixBytes;
    this.#used = this.#slotCount = this.#rows = this.#rowBytes = this.#cells = 0;
    this.#inputBytes = this.#inputRows = 0;
    this.#index.fill(0);
    if (this.#twoBuffers) [this.#bytes, this.#other] = [this.#other ?? new Uint8Array(bytes.length), bytes];
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
  #find(hash: number, from: number, to: number): number {
    const index = this.#index;
    const mask = index.length - 1;
    for (let place = (hash << 1) & mask; ; place = (place + 2) & mask) {
      const entry = index[place]!;
      if (entry === 0) return place;
      if (index[place + 1] === hash && sameId(this.#bytes, this.#slots[(entry - 1) * SLOT + START]! + 1, from, to)) {
        return place;
      }
    }
  }

  #end(slot: number): number {
    return slot + 1 < this.#slotCount ? this.#slots[(slot + 1) * SLOT + START]! : this.#used;
  }

  #addSlot(start: number, width: number, hash: number): number {
    if ((this.#slotCount + 1) * SLOT > this.#slots.length) {
      const slots = new Int32Array(2 * this.#slots.length);
      slots.set(this.#slots);
      this.#slots = slots;
    }
    const slot = this.#slotCount++;
    this.#slots[slot * SLOT + START] = start;
    this.#slots[slot * SLOT + WIDTH] = width;
    this.#slots[slot * SLOT + HASH] = hash;
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
        slots[count * SLOT + HASH] = slots[slot * SLOT + HASH]!;
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

  #rehash(length: number): void {
    const index = new Int32Array(length);
    const mask = length - 1;
    const slots = this.#slots;
    for (let slot = 0; slot < this.#slotCount; slot++) {
      if (slots[slot * SLOT + WIDTH]! < 0) continue;
      const hash = slots[slot * SLOT + HASH]!;
      let place = (hash << 1) & mask;
      while (index[place] !== 0) place = (place + 2) & mask;
      index[place] = slot + 1;
      index[place + 1] = hash;
    }
    this.#index = index;
  }

  /**
   * Room for `needed` bytes, keeping the text up to `keep`. The buffer grows fourfold, up to a full
   * file's size: the copies add up to a third of the final text, and writing fresh memory is what
   * costs (pages never written cost nothing).
   */
  #reserve(needed: number, keep = this.#used): void {
    const length = this.#bytes.length;
    if (needed <= length) return;
    const full = this.#limits.maxBytes + SLACK;
    let capacity = Math.max(needed, 4 * length);
    if (needed <= full) capacity = Math.min(capacity, full);
    const bytes = new Uint8Array(capacity);
    bytes.set(this.#bytes.subarray(0, keep));
    this.#bytes = bytes;
  }
}

/** The indexes `0..count-1` in the order of their columns (a row whose names are not in header order). */
function columnOrder(columns: Int32Array, count: number): number[] {
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => columns[a]! - columns[b]!);
}

/** FNV-1a of `bytes[from, to)`, its low 30 bits. */
function hashOf(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  // 30 bits: a small integer to V8 wherever it goes, never a boxed number (an allocation per row).
  return hash & 0x3fffffff;
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
    const takeNew = newEnd - newFrom > 1 || oldEnd === oldFrom;
    const from = takeNew ? newFrom : oldFrom;
    const to = takeNew ? newEnd : oldEnd;
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

/** A number as `encodeURIComponent(String(value))` writes it; integers and short decimals without a string. */
function writeNumber(value: number, bytes: Uint8Array, at: number): number {
  if (Number.isSafeInteger(value)) return writeDecimal(value, 0, bytes, at);
  // A decimal of at most 15 significant digits is the only one that short to round to its double,
  // so `String` writes exactly its digits: `value × 10^places` as an integer, for the fewest places.
  for (let places = 1, scale = 10; places <= MAX_PLACES; places++, scale *= 10) {
    const units = Math.round(value * scale);
    if (units / scale !== value) continue;
    // A trailing zero would mean fewer places named it: doubt, left to `String`.
    if (Math.abs(units) < 1e15 && units % 10 !== 0) return writeDecimal(units, places, bytes, at);
    break;
  }
  return percentEncodeInto(String(value), bytes, at);
}

// At most 6 places: `String` writes 1e-6 and larger in plain digits, smaller in exponent form.
const MAX_PLACES = 6;

/** The integer `units` (under 2^53 in magnitude) with a decimal point before its last `places` digits. */
function writeDecimal(units: number, places: number, bytes: Uint8Array, at: number): number {
  if (units < 0) bytes[at++] = 0x2d;
  let rest = Math.abs(units);
  let digits = 1;
  for (let power = 10; rest >= power; power *= 10) digits++;
  // At least one digit before the point (`0.05`).
  const end = places === 0 ? at + digits : at + Math.max(digits, places + 1) + 1;
  // Back to front: the places, the point, then the integer part's digits.
  let i = end;
  for (let place = 0; place < places; place++) {
    const next = tenth(rest);
    bytes[--i] = 0x30 + (rest - 10 * next);
    rest = next;
  }
  if (places > 0) bytes[--i] = 0x2e;
  while (i > at) {
    const next = tenth(rest);
    bytes[--i] = 0x30 + (rest - 10 * next);
    rest = next;
  }
  return end;
}

/** `rest / 10` rounded down: 32-bit integer arithmetic while it fits (most numbers), floating point past it. */
const tenth = (rest: number): number => (rest <= 0x7fffffff ? (rest / 10) | 0 : Math.floor(rest / 10));

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
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let code = text.charCodeAt(i);
    // One escape per byte of UTF-8: the lead byte here, then `trail` continuation bytes below.
    // (Few call sites of `escape`, so that V8 inlines them all.)
    let trail: number;
    if (code < 0x80) {
      if (UNRESERVED[code] === 1) {
        bytes[at++] = code;
        continue;
      }
      trail = 0;
      at = escape(bytes, at, code);
    } else if (code < 0x800) {
      trail = 1;
      at = escape(bytes, at, 0xc0 | (code >> 6));
    } else if (code < 0xd800 || code > 0xdfff) {
      trail = 2;
      at = escape(bytes, at, 0xe0 | (code >> 12));
    } else {
      const low = text.charCodeAt(i + 1);
      if (code > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw new URIError("URI malformed");
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      i++;
      trail = 3;
      at = escape(bytes, at, 0xf0 | (code >> 18));
    }
    for (let shift = 6 * (trail - 1); shift >= 0; shift -= 6) at = escape(bytes, at, 0x80 | ((code >> shift) & 0x3f));
  }
  return at;
}

/**
 * Writes the UTF-8 bytes `source[from, to)` as `encodeURIComponent` writes their text, into `bytes`
 * at `at`; with `doubled`, each `""` is one quote. Answers where it ended. Needs room for 3 bytes a byte.
 */
export function percentEncodeBytes(
  source: Uint8Array,
  from: number,
  to: number,
  doubled: boolean,
  bytes: Uint8Array,
  at: number,
): number {
  for (let i = from; i < to; i++) {
    const byte = source[i]!;
    if (byte < 0x80 && UNRESERVED[byte] === 1) {
      bytes[at++] = byte;
    } else {
      at = escape(bytes, at, byte);
      if (byte === QUOTE && doubled) i++;
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
