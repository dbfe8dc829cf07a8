// CSV text (RFC 4180: a header row, commas, optional quotes, \n or \r\n line ends) as updates with
// their line numbers. Hand-written rather than a library: it must run in every runtime the core
// does (no Buffer, no Node streams), stream across chunks, keep each record's line number and exact
// text for a rejects file, and keep up with the encoder; the streaming CSV parsers on npm each miss
// one of these (csv-parse is built on Buffer and Node streams; Papa Parse and d3-dsv parse whole
// strings or files, without the record's text).
import { TargetValidationError, type ValidationIssue } from "../errors.js";
import type { ProfileAttributes, ProfileUpdate } from "../profile-update.js";
import type { SourceRow } from "./source-row.js";
import { cellTexts, RecordReader } from "./csv-records.js";
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
  const { record } = reader;
  const chunks = textChunks(input, "readCsvRows");
  for (let done = false; !done;) {
    const next = await chunks.next();
    done = next.done === true;
    buffer = done ? buffer : buffer.length > 0 ? buffer + next.value : (next.value as string);
    reader.reset();
    const suspect = buffer.includes(REPLACEMENT);
    let at = 0;
    while (reader.read(buffer, at, done, header?.names.length ?? 0)) {
      const text = buffer.slice(record.start, record.end);
      at = record.next;
      const start = line;
      line += record.lines;
      if (text.length === 0 || text === "\r") continue;
      const cells = record.problem === undefined ? cellTexts(buffer, record) : undefined;
      if (header === undefined) {
        header = readHeader(cells, record.problem, ignore);
        options.onHeader?.(text, header.names);
        continue;
      }
      if (record.problem !== undefined) {
        yield { line: start, text, issues: [{ path: "", message: record.problem }] };
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
