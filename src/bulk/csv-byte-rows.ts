// CSV read as UTF-8 bytes, for bulkUpdate: a record that is a valid update as it lies (the usual one)
// goes into its batch file as bytes, never decoded nor made an object (decoding, slicing cells and
// building objects cost more than encoding them). Any other record (the header, a bad or doubtful
// row) is decoded alone and read as readCsvRows reads text, so both readings make the same rows.
import { MAX_ID_LENGTH } from "../limits.js";
import { checkProfileUpdate } from "./check-profile-update.js";
import { ATTRIBUTE, CsvRowMaker, IGNORED, THIRD_PARTY_ID, type Header, type RowSourceOptions } from "./csv-header.js";
import { RecordReader, type CsvRecord } from "./csv-records.js";
import type { ByteRows, LineByteRow, SourceRow } from "./source-row.js";
import { inputChunks, type TextInput } from "./text-chunks.js";

const PLUS = 0x2b;
const SLASH = 0x2f;
const encoder = new TextEncoder();

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The rows of CSV `input` for bulkUpdate (see `ByteRows`), read as `readCsvRows` would read them. */
export function readCsvBytes(input: TextInput, options: RowSourceOptions): ByteRows {
  const maker = new CsvRowMaker(options.ignore, options.onHeader);
  const reader = new RecordReader();
  const { record } = reader;
  // A record read alone, as text (a byte order mark there is text: only the input's first is dropped).
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  const textReader = new RecordReader();
  const byteRow: Mutable<LineByteRow> = {
    idType: "thirdPartyId",
    source: new Uint8Array(0),
    starts: record.starts,
    ends: record.ends,
    doubled: record.doubled,
    id: 0,
    count: 0,
    names: [],
    cells: new Int32Array(0),
    line: 0,
  };
  // The bytes being read (a view of `pending`'s memory, refilled for each chunk).
  let source: Uint8Array = new Uint8Array(0);
  const pending = new PendingBytes();
  // Whether the header's attribute names let records go as bytes (decided once, when it is read).
  let plainHeader: boolean | undefined;

  /** The row of the record just read, read again from its decoded text. */
  function textRow(line: number): SourceRow | undefined {
    // Read with its line break, which tells how its last cell ends (a `\r` there may not end the line).
    // The break is ASCII, a unit a byte: the row's text is the rest.
    const withBreak = decoder.decode(source.subarray(record.start, record.next));
    const text = withBreak.slice(0, withBreak.length - (record.next - record.end));
    textReader.reset();
    textReader.read(withBreak, 0, true, maker.header?.names.length ?? 0);
    return maker.make(withBreak, textReader.record, text, line, true);
  }

  let line = 1;
  let first = true;
  let done = false;
  let at = 0;
  const chunks = inputChunks(input, "readCsvRows");
  let pulled = false;

  function next(): SourceRow | LineByteRow | undefined {
    while (reader.read(source, at, done, maker.header?.names.length ?? 0)) {
      at = record.next;
      const start = line;
      line += record.lines;
      const header = maker.header;
      if (header !== undefined && record.problem === undefined) {
        plainHeader ??= isPlainHeader(header);
        if (plainHeader && fill(byteRow, source, record, header, start)) return byteRow;
      }
      const row = textRow(start);
      if (row) return row;
    }
    return undefined;
  }

  async function more(): Promise<boolean> {
    if (done) return false;
    pulled = true;
    // What is left is the start of a record the next chunk goes on with.
    source = source.subarray(at);
    at = 0;
    // At first, until three bytes are in: the input's byte order mark is dropped, as TextDecoder drops it.
    do {
      const chunk = await chunks.next();
      done = chunk.done === true;
      if (!done) source = pending.append(source, chunk.value as Uint8Array | string);
    } while (first && source.length < 3 && !done);
    if (first) {
      first = false;
      if (source[0] === 0xef && source[1] === 0xbb && source[2] === 0xbf) source = source.subarray(3);
    }
    reader.reset();
    return true;
  }

  return {
    next,
    more,
    async close() {
      // Before the first pull the chunks never started, so a stream given is cancelled here.
      const stream = typeof ReadableStream !== "undefined" && input instanceof ReadableStream ? input : undefined;
      if (!pulled && stream && !stream.locked) await stream.cancel();
      else await chunks.return();
    },
    byteRow,
    sourceRow: () => textRow(byteRow.line)!,
  };
}

/**
 * One buffer, reused for every chunk (fresh memory costs more than the copy): what is left of the
 * last chunk, then the next. Rows point into it, so it changes only when the next chunk is read.
 */
class PendingBytes {
  #memory = new Uint8Array(0);

  /** `rest` (the end of the last answer), then `chunk`. */
  append(rest: Uint8Array, chunk: Uint8Array | string): Uint8Array {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    const length = rest.length + bytes.length;
    if (length > this.#memory.length) {
      const memory = new Uint8Array(Math.max(length, 2 * this.#memory.length));
      memory.set(rest);
      this.#memory = memory;
    } else {
      this.#memory.copyWithin(0, rest.byteOffset, rest.byteOffset + rest.length);
    }
    this.#memory.set(bytes, rest.length);
    return this.#memory.subarray(0, length);
  }
}

/**
 * Whether records under this header may go as bytes: every attribute name passes the row check, and
 * none is an array index (an object of attributes puts those first, so the text's columns differ).
 */
function isPlainHeader(header: Header): boolean {
  return header.names.every(
    (name, column) =>
      header.kinds[column] !== ATTRIBUTE ||
      (!/^\d+$/.test(name) && checkProfileUpdate({ mbox3rdPartyId: "x", attributes: { [name]: "x" } }).length === 0),
  );
}

/**
 * Fills `row` with the record when it is a valid update as it lies: one id (ASCII, not too long,
 * no `+` or `/` in a customer id), at least one value, all of it plain UTF-8 (see plain-utf8.ts).
 * Anything else (false) is left to the reading of text.
 */
function fill(row: Mutable<LineByteRow>, source: Uint8Array, record: CsvRecord, header: Header, line: number): boolean {
  const { starts, ends, count } = record;
  const { kinds, names } = header;
  if (row.cells.length < count) row.cells = new Int32Array(count);
  const rowNames = row.names as string[];
  const cells = row.cells as Int32Array;
  let id = -1;
  let values = 0;
  for (let cell = 0; cell < count; cell++) {
    // An empty cell is absent.
    if (starts[cell] === ends[cell]) continue;
    const kind = kinds[cell];
    if (kind === ATTRIBUTE) {
      rowNames[values] = names[cell]!;
      cells[values++] = cell;
    } else if (kind !== IGNORED) {
      if (id >= 0) return false;
      id = cell;
    }
  }
  if (id < 0 || values === 0) return false;
  const idStart = starts[id]!;
  const idEnd = ends[id]!;
  if (record.doubled[id] === 1 || idEnd - idStart > MAX_ID_LENGTH) return false;
  const customer = kinds[id] === THIRD_PARTY_ID;
  for (let i = idStart; i < idEnd; i++) {
    const byte = source[i]!;
    if (byte >= 0x80 || (customer && (byte === PLUS || byte === SLASH))) return false;
  }
  if (!record.plainUtf8) return false;
  rowNames.length = values;
  row.idType = customer ? "thirdPartyId" : "pcId";
  row.source = source;
  row.starts = starts;
  row.ends = ends;
  row.doubled = record.doubled;
  row.id = id;
  row.count = values;
  row.line = line;
  return true;
}
