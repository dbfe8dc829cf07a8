// Reads a bulk update body the way docs/target-api.md says the server does: take the `batch` form
// field (it ends at the first raw `&`), split it into lines and cells, then form-decode each cell.
import { decodeFormComponent } from "./form-decoding.js";
import { MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "../limits.js";
import { isValidAttributeName } from "./limits.js";

export type BatchIdType = "thirdPartyId" | "pcId";

export interface BatchRow {
  id: string;
  /** Non-empty cells only: empty cells never clear anything. */
  attributes: Array<[name: string, value: string]>;
}

/** A checked batch. Rows are decoded again on demand rather than kept: 500,000 row objects would outlive the parse. */
export interface ParsedBatch {
  idType: BatchIdType;
  /**
   * Rows that are not skipped. A row with no non-empty attribute cell updates nothing and creates no
   * profile ("empty values are ignored"), so it is skipped; a batch of only such rows is skipped whole.
   */
  size: number;
  rows(): Iterable<BatchRow>;
}

/** A refused batch: Target's message and the HTTP status it comes with. */
export type BatchParseResult = { ok: true; batch: ParsedBatch } | { ok: false; message: string; status: number };

/** What Target says when a cell holds a malformed `%` escape: documented as HTTP 200, `success=false`. */
const MALFORMED = { message: "Unexpected error", status: 200 };
/** What Target says when no row is left (e.g. a raw `&` in the header); we give it the same HTTP 200. */
const EMPTY = { message: "Batch is empty", status: 200 };

const bodyDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function parseBatchBody(body: Uint8Array): BatchParseResult {
  if (body.byteLength > MAX_BATCH_BYTES) return refuse("Batch file must be smaller than 50 MB");
  let text: string;
  try {
    text = bodyDecoder.decode(body);
  } catch {
    return refuse(MALFORMED.message, MALFORMED.status);
  }
  if (!text.startsWith("batch=")) return refuse("Missing batch parameter");
  const end = text.indexOf("&");
  const field = end < 0 ? text.slice(6) : text.slice(6, end);
  try {
    const [header = ""] = splitLines(field);
    const columns = header.split(",").map(decodeFormComponent);
    const idType = columns[0];
    if (idType !== "thirdPartyId" && idType !== "pcId") return refuse("The first column must be thirdPartyId or pcId");
    if (!columns.slice(1).every(isValidAttributeName)) return refuse("Invalid attribute name in header");
    // Check every row now, so that a bad cell anywhere refuses the whole batch before anything is applied.
    let lines = 0;
    let size = 0;
    for (const row of readRows(field, columns)) {
      lines++;
      if (row.attributes.length > 0) size++;
    }
    if (lines === 0) return refuse(EMPTY.message, EMPTY.status);
    return { ok: true, batch: { idType, size, rows: () => rowsWithValues(field, columns) } };
  } catch (error) {
    if (error instanceof URIError) return refuse(MALFORMED.message, MALFORMED.status);
    if (error instanceof BatchRefusal) return refuse(error.message);
    throw error;
  }
}

class BatchRefusal extends Error {
  override name = "BatchRefusal";
}

function* rowsWithValues(field: string, columns: readonly string[]): Generator<BatchRow, void, undefined> {
  for (const row of readRows(field, columns)) if (row.attributes.length > 0) yield row;
}

/** Every non-blank line after the header, decoded (empty cells left out). */
function* readRows(field: string, columns: readonly string[]): Generator<BatchRow, void, undefined> {
  const lines = splitLines(field);
  lines.next(); // the header
  let count = 0;
  for (const line of lines) {
    if (line === "") continue;
    if (++count > MAX_BATCH_ROWS) throw new BatchRefusal(`Batch file must hold at most ${MAX_BATCH_ROWS} rows`);
    const cells = line.split(",");
    if (cells.length > columns.length) throw new BatchRefusal(`Row ${count} has more cells than the header`);
    const id = decodeFormComponent(cells[0]!);
    const attributes: Array<[string, string]> = [];
    for (let index = 1; index < cells.length; index++) {
      const value = decodeFormComponent(cells[index]!);
      if (value !== "") attributes.push([columns[index]!, value]);
    }
    yield { id, attributes };
  }
}

// Lines without building one array of them all: a 50 MB body of line breaks stays cheap.
function* splitLines(text: string): Generator<string, void, undefined> {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    yield text.charCodeAt(end - 1) === 0x0d && end > start ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
  }
}

function refuse(message: string, status = 400): BatchParseResult {
  return { ok: false, message, status };
}
