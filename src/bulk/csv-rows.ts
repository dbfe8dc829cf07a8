// CSV text (RFC 4180: a header row, commas, optional quotes, \n or \r\n line ends) as updates with
// their line numbers. Hand-written rather than a library: it must run in every runtime the core
// does (no Buffer, no Node streams), stream across chunks, keep each record's line number and exact
// text for a rejects file, and keep up with the encoder; the streaming CSV parsers on npm each miss
// one of these (csv-parse is built on Buffer and Node streams; Papa Parse and d3-dsv parse whole
// strings or files, without the record's text).
import { TargetValidationError, type ValidationIssue } from "../errors.js";
import type { ProfileAttributes, ProfileUpdate } from "../profile-update.js";
import type { SourceRow } from "./source-row.js";
import { REPLACEMENT, textChunks, type TextInput } from "./text-chunks.js";

/**
 * Options of the row sources.
 * @example
 * readCsvRows(stream, { ignore: ["rejected:line", "rejected:field", "rejected:rule"] });
 */
export interface RowSourceOptions {
  /** Columns (CSV) or keys (NDJSON) to leave out, e.g. the notes a rejects file adds. */
  readonly ignore?: readonly string[] | undefined;
  /** CSV: called with the header row's text and names once it is read (e.g. to write a rejects file). */
  readonly onHeader?: ((text: string, names: readonly string[]) => void) | undefined;
}

/** The id columns a header may name, and the update key each stands for. */
const ID_COLUMNS: Readonly<Record<string, "mbox3rdPartyId" | "mboxPC">> = {
  mbox3rdPartyId: "mbox3rdPartyId",
  thirdPartyId: "mbox3rdPartyId",
  mboxPC: "mboxPC",
  pcId: "mboxPC",
};

/** What a column holds. */
const IGNORED = 0;
const ATTRIBUTE = 1;
const THIRD_PARTY_ID = 2;
const PC_ID = 3;

interface Header {
  readonly names: readonly string[];
  readonly kinds: Uint8Array;
  /** The header's names of the two id columns, for messages. */
  readonly thirdPartyColumn: string | undefined;
  readonly pcColumn: string | undefined;
}

const NOT_UTF8: readonly ValidationIssue[] = [
  { path: "", message: "is not valid UTF-8 text (save the file as UTF-8)" },
];

/**
 * Reads CSV into updates, one `SourceRow` per record with its line number and text. The header row
 * names the id column (`mbox3rdPartyId` or `thirdPartyId` for customer ids, `mboxPC` or `pcId` for
 * Target visitor ids); every other column is an attribute, its cells strings; an empty cell is
 * absent. A record that cannot be read (a wrong number of cells, a broken quote, no id) comes with
 * `issues` instead of an update; a header that cannot be read throws a `TargetValidationError`.
 * Runs wherever the core runs: pass `response.body`, `file.stream()`, a Node stream or strings.
 * @example
 * const report = await target.bulkUpdate(readCsvRows((await fetch(exportUrl)).body!), {
 *   onInvalidRow: ({ position, issues }) => console.error(`line ${position}: ${issues[0]?.message}`),
 * });
 */
export async function* readCsvRows(
  input: TextInput,
  options: RowSourceOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  const ignore = new Set(options.ignore ?? []);
  let header: Header | undefined;
  let buffer = "";
  let line = 1;
  const reader = new RecordReader();
  const chunks = textChunks(input, "readCsvRows");
  for (let done = false; !done;) {
    const next = await chunks.next();
    done = next.done === true;
    buffer = done ? buffer : buffer.length > 0 ? buffer + next.value : (next.value as string);
    reader.reset();
    const suspect = buffer.includes(REPLACEMENT);
    let at = 0;
    for (;;) {
      const record = reader.read(buffer, at, done, header?.names.length ?? 0);
      if (record === undefined) break;
      const { text, cells, problem } = record;
      at = record.end;
      const start = line;
      line += record.lines;
      if (text.length === 0 || text === "\r") continue;
      if (header === undefined) {
        header = readHeader(cells, problem, ignore);
        options.onHeader?.(text, header.names);
        continue;
      }
      if (problem !== undefined) {
        yield { line: start, text, issues: [{ path: "", message: problem }] };
      } else if (suspect && text.includes(REPLACEMENT)) {
        yield { line: start, text, issues: NOT_UTF8 };
      } else {
        yield toRow(start, text, cells!, header);
      }
    }
    buffer = buffer.slice(at);
  }
}

function readHeader(
  cells: readonly string[] | undefined,
  problem: string | undefined,
  ignore: ReadonlySet<string>,
): Header {
  const refuse = (message: string) => new TargetValidationError([{ path: "header", message }]);
  if (cells === undefined) throw refuse(`the header row cannot be read: ${problem}`);
  const kinds = new Uint8Array(cells.length);
  let thirdPartyColumn: string | undefined;
  let pcColumn: string | undefined;
  const seen = new Set<string>();
  for (const [index, name] of cells.entries()) {
    if (name === "") throw refuse(`column ${index + 1} has no name`);
    if (seen.has(name)) throw refuse(`two columns are named ${JSON.stringify(name)}`);
    seen.add(name);
    const id = ID_COLUMNS[name];
    if (ignore.has(name)) {
      kinds[index] = IGNORED;
    } else if (id === "mbox3rdPartyId") {
      if (thirdPartyColumn !== undefined) throw refuse(`two customer id columns: ${thirdPartyColumn} and ${name}`);
      thirdPartyColumn = name;
      kinds[index] = THIRD_PARTY_ID;
    } else if (id === "mboxPC") {
      if (pcColumn !== undefined) throw refuse(`two Target visitor id columns: ${pcColumn} and ${name}`);
      pcColumn = name;
      kinds[index] = PC_ID;
    } else {
      kinds[index] = ATTRIBUTE;
    }
  }
  if (thirdPartyColumn === undefined && pcColumn === undefined) {
    throw refuse(
      "no id column: name one mbox3rdPartyId or thirdPartyId (customer ids), or mboxPC or pcId (Target visitor ids)",
    );
  }
  return { names: cells, kinds, thirdPartyColumn, pcColumn };
}

function toRow(line: number, text: string, cells: readonly string[], header: Header): SourceRow {
  const attributes: Record<string, string> = {};
  let thirdPartyId = "";
  let pcId = "";
  const { names, kinds } = header;
  for (let column = 0; column < cells.length; column++) {
    const cell = cells[column]!;
    if (cell === "") continue;
    const kind = kinds[column];
    if (kind === ATTRIBUTE) attributes[names[column]!] = cell;
    else if (kind === THIRD_PARTY_ID) thirdPartyId = cell;
    else if (kind === PC_ID) pcId = cell;
  }
  if (thirdPartyId !== "" && pcId !== "") {
    return {
      line,
      text,
      issues: [{ path: "", message: `a row takes one id: ${header.thirdPartyColumn} or ${header.pcColumn}, not both` }],
    };
  }
  if (thirdPartyId === "" && pcId === "") {
    const column = [header.thirdPartyColumn, header.pcColumn].filter(Boolean).join(" or ");
    return { line, text, issues: [{ path: column, message: "is empty: every row needs its id" }] };
  }
  const update: ProfileUpdate =
    pcId === ""
      ? { mbox3rdPartyId: thirdPartyId, attributes: attributes as ProfileAttributes }
      : { mboxPC: pcId, attributes: attributes as ProfileAttributes };
  return { line, text, update };
}

/** One record: its text (without its line break), its cells or what is wrong, where the next starts. */
interface CsvRecord {
  readonly text: string;
  readonly cells: string[] | undefined;
  readonly problem: string | undefined;
  /** Where the next record starts. */
  readonly end: number;
  /** Line breaks consumed, the record's own included. */
  readonly lines: number;
}

/**
 * Reads records out of a text buffer. Unquoted records (the usual) are split at commas with
 * `indexOf`; the next quote's position is remembered, so the text is scanned once however many
 * records go by.
 */
class RecordReader {
  // The first quote at or after where it was last looked for, in the text since `reset` (-1: none).
  #quoteAt = -1;
  #quoteKnown = false;

  /** Forgets the quote found: the text changed. */
  reset(): void {
    this.#quoteKnown = false;
  }

  /** The record at `from`; `undefined` when the text ends first (unless `final`) or is used up. */
  read(text: string, from: number, final: boolean, width: number): CsvRecord | undefined {
    if (from >= text.length) return undefined;
    let newline = text.indexOf("\n", from);
    if (newline < 0) {
      if (!final) return undefined;
      newline = text.length;
    }
    if (!this.#quoteKnown || (this.#quoteAt >= 0 && this.#quoteAt < from)) {
      this.#quoteKnown = true;
      this.#quoteAt = text.indexOf('"', from);
    }
    const end = newline < text.length ? newline + 1 : newline;
    const textEnd = newline > from && text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
    if (this.#quoteAt < 0 || this.#quoteAt >= newline) {
      const cells: string[] = width > 0 ? new Array<string>(width) : [];
      let count = 0;
      for (let start = from; ;) {
        let comma = text.indexOf(",", start);
        if (comma < 0 || comma > textEnd) comma = textEnd;
        if (count < width || width === 0) cells[count] = text.slice(start, comma);
        count++;
        if (comma === textEnd) break;
        start = comma + 1;
      }
      const row = text.slice(from, textEnd);
      if (width > 0 && count !== width)
        return { text: row, cells: undefined, problem: wrongWidth(count, width), end, lines: 1 };
      return { text: row, cells, problem: undefined, end, lines: 1 };
    }
    return this.#readQuoted(text, from, final, width);
  }

  /** A record with a quote somewhere: cell by cell, quoted cells across line breaks. */
  #readQuoted(text: string, from: number, final: boolean, width: number): CsvRecord | undefined {
    const cells: string[] = [];
    let problem: string | undefined;
    let at = from;
    for (;;) {
      if (text.charCodeAt(at) === 0x22) {
        let value = "";
        let open = at + 1;
        for (;;) {
          const quote = text.indexOf('"', open);
          if (quote < 0) {
            if (!final) return undefined;
            problem ??= "a quoted cell is never closed";
            value += text.slice(open);
            at = text.length;
            break;
          }
          if (quote + 1 >= text.length && !final) return undefined;
          if (text.charCodeAt(quote + 1) === 0x22) {
            value += text.slice(open, quote + 1);
            open = quote + 2;
            continue;
          }
          value += text.slice(open, quote);
          at = quote + 1;
          break;
        }
        cells.push(value);
        const next = text.charCodeAt(at);
        if (at >= text.length || next === 0x0a || (next === 0x0d && text.charCodeAt(at + 1) === 0x0a)) break;
        if (next === 0x2c) {
          at++;
          continue;
        }
        problem ??= "a quoted cell must be followed by a comma or the end of the line";
        // The rest of the line goes with the broken record.
        const newline = text.indexOf("\n", at);
        if (newline < 0 && !final) return undefined;
        at = newline < 0 ? text.length : newline;
        break;
      }
      let stop = at;
      while (stop < text.length) {
        const code = text.charCodeAt(stop);
        if (code === 0x2c || code === 0x0a) break;
        stop++;
      }
      if (stop >= text.length && !final) return undefined;
      const cellEnd = text.charCodeAt(stop - 1) === 0x0d && text.charCodeAt(stop) === 0x0a ? stop - 1 : stop;
      cells.push(text.slice(at, cellEnd));
      at = stop;
      if (at >= text.length || text.charCodeAt(at) === 0x0a) break;
      at++;
    }
    // `at` is on the record's line break (its \n, past a \r), or the end of the text.
    if (text.charCodeAt(at) === 0x0d && text.charCodeAt(at + 1) === 0x0a) at++;
    const textEnd = at > from && text.charCodeAt(at - 1) === 0x0d ? at - 1 : at;
    const row = text.slice(from, textEnd);
    let lines = 1;
    for (let newline = row.indexOf("\n"); newline >= 0; newline = row.indexOf("\n", newline + 1)) lines++;
    if (problem === undefined && width > 0 && cells.length !== width) problem = wrongWidth(cells.length, width);
    return {
      text: row,
      cells: problem === undefined ? cells : undefined,
      problem,
      end: Math.min(at + 1, text.length),
      lines,
    };
  }
}

function wrongWidth(count: number, width: number): string {
  return `has ${count} cells where the header has ${width}${count > width ? " (a comma in a cell that is not quoted?)" : ""}`;
}
