// What a CSV header says (which column is the id, which are attributes), and the row each record's
// text makes under it: shared by readCsvRows' reading of text and bulkUpdate's reading of bytes.
import { TargetValidationError, type ValidationIssue } from "../errors.js";
import type { ProfileAttributes, ProfileUpdate } from "../profile-update.js";
import { cellTexts, type CsvRecord } from "./csv-records.js";
import type { SourceRow } from "./source-row.js";
import { REPLACEMENT } from "./text-chunks.js";

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
export const IGNORED = 0;
export const ATTRIBUTE = 1;
export const THIRD_PARTY_ID = 2;
export const PC_ID = 3;

export interface Header {
  readonly names: readonly string[];
  readonly kinds: Uint8Array;
  /** The header's names of the two id columns, for messages. */
  readonly thirdPartyColumn: string | undefined;
  readonly pcColumn: string | undefined;
}

const NOT_UTF8: readonly ValidationIssue[] = [
  { path: "", message: "is not valid UTF-8 text (save the file as UTF-8)" },
];

/** The rows of one CSV input's records, in order: the first non-empty record is its header. */
export class CsvRowMaker {
  header: Header | undefined;
  readonly #ignore: ReadonlySet<string>;
  readonly #onHeader: ((text: string, names: readonly string[]) => void) | undefined;

  constructor(ignore: readonly string[] = [], onHeader?: (text: string, names: readonly string[]) => void) {
    this.#ignore = new Set(ignore);
    this.#onHeader = onHeader;
  }

  /**
   * The row of the record just read out of `source` at `line`, its text `text`; `undefined` for the
   * header or an empty line. With `suspect`, a replacement character in the text means bad UTF-8.
   */
  make(source: string, record: CsvRecord, text: string, line: number, suspect: boolean): SourceRow | undefined {
    if (text.length === 0 || text === "\r") return undefined;
    const { problem } = record;
    if (this.header === undefined) {
      this.header = readHeader(problem === undefined ? cellTexts(source, record) : undefined, problem, this.#ignore);
      this.#onHeader?.(text, this.header.names);
      return undefined;
    }
    if (problem !== undefined) return { line, text, issues: [{ path: "", message: problem }] };
    if (suspect && text.includes(REPLACEMENT)) return { line, text, issues: NOT_UTF8 };
    return toRow(line, text, cellTexts(source, record), this.header);
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
