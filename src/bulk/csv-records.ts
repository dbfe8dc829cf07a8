// CSV records (RFC 4180 as readCsvRows documents it: commas, optional quotes, \n or \r\n line ends)
// read out of text or out of UTF-8 bytes alike: where each record and each of its cells lies, how
// many lines it spans, and what is wrong with it. The delimiters are ASCII, so the bytes and their
// text split the same way; rows read as strings use the text, rows headed straight into batch files
// the bytes (never decoded).

import { plainSequenceAt } from "./plain-utf8.js";

/** Text, or UTF-8 bytes. */
export type CsvSource = string | Uint8Array;

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** The record last read, as places in its source: valid until the next is read. */
export class CsvRecord {
  /** Its text, without its line break: `[start, end)`. */
  start = 0;
  end = 0;
  /** Where the next record starts. */
  next = 0;
  /** Line breaks consumed, its own included. */
  lines = 1;
  /** What is wrong with it (then its cells are not to be used). */
  problem: string | undefined;
  /** Known to be plain UTF-8 (read from bytes; see plain-utf8.ts); false when not known. */
  plainUtf8 = false;
  /**
   * Its cells: `count`, each `[starts[i], ends[i])` (a quoted cell's content, between its quotes),
   * `doubled[i]` when the content holds `""` for each quote.
   */
  count = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  doubled = new Uint8Array(16);

  addCell(start: number, end: number, doubled: boolean): void {
    if (this.count === this.starts.length) {
      this.starts = grow(this.starts, new Int32Array(2 * this.count));
      this.ends = grow(this.ends, new Int32Array(2 * this.count));
      this.doubled = grow(this.doubled, new Uint8Array(2 * this.count));
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.doubled[this.count++] = doubled ? 1 : 0;
  }
}

function grow<T extends Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Reads records out of a source. Bytes are read a record at a time in one pass (#readBytes). In
 * text, unquoted records (the usual) are split at commas with `indexOf`; the next quote's place is
 * remembered, so the text is scanned once however many records go by.
 */
export class RecordReader {
  readonly record = new CsvRecord();
  // The first quote at or after where it was last looked for, in the source since `reset` (-1: none).
  #quoteAt = -1;
  #quoteKnown = false;

  /** Forgets the quote found: the source changed. */
  reset(): void {
    this.#quoteKnown = false;
  }

  /**
   * Reads the record at `from` into `record`: false when the source ends first (unless `final`) or is
   * used up. With `width` (the header's), a record of another number of cells is a problem.
   */
  read(source: CsvSource, from: number, final: boolean, width: number): boolean {
    const { length } = source;
    if (from >= length) return false;
    if (typeof source !== "string")
      return this.#readBytes(source, from, final, width) ?? this.#readQuoted(source, from, final, width);
    let newline = find(source, NEWLINE, from);
    if (newline < 0) {
      if (!final) return false;
      newline = length;
    }
    if (!this.#quoteKnown || (this.#quoteAt >= 0 && this.#quoteAt < from)) {
      this.#quoteKnown = true;
      this.#quoteAt = find(source, QUOTE, from);
    }
    if (this.#quoteAt >= 0 && this.#quoteAt < newline) return this.#readQuoted(source, from, final, width);
    const record = this.record;
    const end = newline > from && codeAt(source, newline - 1) === RETURN ? newline - 1 : newline;
    record.count = 0;
    let cells = 0;
    for (let start = from; ;) {
      let comma = find(source, COMMA, start);
      if (comma < 0 || comma > end) comma = end;
      if (cells < width || width === 0) record.addCell(start, comma, false);
      cells++;
      if (comma === end) break;
      start = comma + 1;
    }
    record.start = from;
    record.end = end;
    record.next = newline < length ? newline + 1 : newline;
    record.lines = 1;
    record.problem = width > 0 && cells !== width ? wrongWidth(cells, width) : undefined;
    record.plainUtf8 = false;
    return true;
  }

  /**
   * A record of bytes in one pass (calls per cell, or a second pass for its UTF-8, cost more than the
   * loop): its cells, quoted or not, the line breaks in them, and whether it is plain UTF-8.
   * `undefined` for what #readQuoted reads better: a quoted cell never closed or followed by more,
   * or a record with a quote that the source ends without a line break.
   */
  #readBytes(source: Uint8Array, from: number, final: boolean, width: number): boolean | undefined {
    const { length } = source;
    const record = this.record;
    record.count = 0;
    let cells = 0;
    let lines = 1;
    let plain = true;
    let quoted = false;
    let at = from;
    for (;;) {
      let start = at;
      let end: number;
      let doubled = false;
      if (source[at] === QUOTE) {
        quoted = true;
        start = ++at;
        for (; ; at++) {
          if (at >= length) return final ? undefined : false;
          const byte = source[at]!;
          if (byte === QUOTE) {
            if (at + 1 >= length && !final) return false;
            if (source[at + 1] !== QUOTE) break;
            doubled = true;
            at++;
          } else if (byte === NEWLINE) {
            lines++;
          } else if (byte >= 0x80) {
            const sequence = plainSequenceAt(source, at, length);
            if (sequence === 0) plain = false;
            else at += sequence - 1;
          }
        }
        end = at++;
        if (at >= length) return final ? undefined : false;
        const next = source[at];
        if (next === RETURN) {
          if (at + 1 >= length) return final ? undefined : false;
          if (source[at + 1] !== NEWLINE) return undefined;
        } else if (next !== COMMA && next !== NEWLINE) {
          return undefined;
        }
      } else {
        for (; at < length; at++) {
          const byte = source[at]!;
          if (byte === COMMA || byte === NEWLINE) break;
          if (byte >= 0x80) {
            const sequence = plainSequenceAt(source, at, length);
            if (sequence === 0) plain = false;
            else at += sequence - 1;
          }
        }
        if (at >= length && (!final || quoted)) return final ? undefined : false;
        // The line's last cell ends before its \r\n.
        end = source[at] !== COMMA && at > start && source[at - 1] === RETURN ? at - 1 : at;
      }
      if (cells < width || width === 0) record.addCell(start, end, doubled);
      cells++;
      if (source[at] !== COMMA) break;
      at++;
    }
    // `at` is on the record's line break (its \r\n after a quoted cell), or the end of the source.
    let newline = at;
    if (source[at] === RETURN) newline++;
    record.start = from;
    record.end = at > from && source[at - 1] === RETURN && source[at] !== RETURN ? at - 1 : at;
    record.next = newline < length ? newline + 1 : newline;
    record.lines = lines;
    record.problem = width > 0 && cells !== width ? wrongWidth(cells, width) : undefined;
    record.plainUtf8 = plain;
    return true;
  }

  /** A record with a quote somewhere: cell by cell, quoted cells across line breaks. */
  #readQuoted(source: CsvSource, from: number, final: boolean, width: number): boolean {
    const { length } = source;
    const record = this.record;
    record.count = 0;
    let problem: string | undefined;
    let at = from;
    for (;;) {
      if (codeAt(source, at) === QUOTE) {
        const content = at + 1;
        let doubled = false;
        for (let open = content; ;) {
          const quote = find(source, QUOTE, open);
          if (quote < 0) {
            if (!final) return false;
            problem ??= "a quoted cell is never closed";
            record.addCell(content, length, doubled);
            at = length;
            break;
          }
          if (quote + 1 >= length && !final) return false;
          if (codeAt(source, quote + 1) === QUOTE) {
            doubled = true;
            open = quote + 2;
            continue;
          }
          record.addCell(content, quote, doubled);
          at = quote + 1;
          break;
        }
        const next = codeAt(source, at);
        if (at >= length || next === NEWLINE || (next === RETURN && codeAt(source, at + 1) === NEWLINE)) break;
        // A \r that ends the input ends the line, as it does after a cell that is not quoted.
        if (next === RETURN && at + 1 >= length) {
          if (!final) return false;
          break;
        }
        if (next === COMMA) {
          at++;
          continue;
        }
        problem ??= "a quoted cell must be followed by a comma or the end of the line";
        // The rest of the line goes with the broken record.
        const newline = find(source, NEWLINE, at);
        if (newline < 0 && !final) return false;
        at = newline < 0 ? length : newline;
        break;
      }
      let stop = at;
      while (stop < length) {
        const code = codeAt(source, stop);
        if (code === COMMA || code === NEWLINE) break;
        stop++;
      }
      if (stop >= length && !final) return false;
      const cellEnd =
        codeAt(source, stop - 1) === RETURN && (stop >= length || codeAt(source, stop) === NEWLINE) ? stop - 1 : stop;
      record.addCell(at, cellEnd, false);
      at = stop;
      if (at >= length || codeAt(source, at) === NEWLINE) break;
      at++;
    }
    // `at` is on the record's line break (its \n, past a \r), or the end of the source.
    if (codeAt(source, at) === RETURN && (at + 1 >= length || codeAt(source, at + 1) === NEWLINE)) at++;
    const end = at > from && codeAt(source, at - 1) === RETURN ? at - 1 : at;
    let lines = 1;
    for (
      let newline = find(source, NEWLINE, from);
      newline >= 0 && newline < end;
      newline = find(source, NEWLINE, newline + 1)
    ) {
      lines++;
    }
    if (problem === undefined && width > 0 && record.count !== width) problem = wrongWidth(record.count, width);
    record.start = from;
    record.end = end;
    record.next = Math.min(at + 1, length);
    record.lines = lines;
    record.problem = problem;
    record.plainUtf8 = false;
    return true;
  }
}

/** The cells of the record, as strings (`""` in a quoted cell a quote), when it is read from text. */
export function cellTexts(text: string, record: CsvRecord): string[] {
  const { count, starts, ends, doubled } = record;
  const cells = new Array<string>(count);
  for (let cell = 0; cell < count; cell++) {
    const value = text.slice(starts[cell], ends[cell]);
    cells[cell] = doubled[cell] === 1 ? value.replaceAll('""', '"') : value;
  }
  return cells;
}

function wrongWidth(count: number, width: number): string {
  return `has ${count} cells where the header has ${width}${count > width ? " (a comma in a cell that is not quoted?)" : ""}`;
}

// The ASCII delimiters as strings, for text sources.
const CHARACTERS: Record<number, string> = { [QUOTE]: '"', [COMMA]: ",", [NEWLINE]: "\n" };

/** Where `code` (an ASCII delimiter) is next found from `from`, or -1. */
function find(source: CsvSource, code: number, from: number): number {
  return typeof source === "string" ? source.indexOf(CHARACTERS[code]!, from) : source.indexOf(code, from);
}

/** The unit at `at` (NaN or undefined past either end: equal to no delimiter). */
function codeAt(source: CsvSource, at: number): number | undefined {
  return typeof source === "string" ? source.charCodeAt(at) : source[at];
}
