// CSV text (RFC 4180: a header row, commas, optional quotes, \n or \r\n line ends) as updates with
// their line numbers. Hand-written rather than a library: it must run in every runtime the core
// does (no Buffer, no Node streams), stream across chunks, keep each record's line number and exact
// text for a rejects file, and keep up with the encoder; the streaming CSV parsers on npm each miss
// one of these (csv-parse is built on Buffer and Node streams; Papa Parse and d3-dsv parse whole
// strings or files, without the record's text).
import { readCsvBytes } from "./csv-byte-rows.js";
import { CsvRowMaker, type RowSourceOptions } from "./csv-header.js";
import { RecordReader } from "./csv-records.js";
import { withByteRows, type SourceRow } from "./source-row.js";
import { REPLACEMENT, textChunks, type TextInput } from "./text-chunks.js";

export type { RowSourceOptions } from "./csv-header.js";

/**
 * Reads CSV into updates, one `SourceRow` per record with its line number and text. The header row
 * names the id column (`mbox3rdPartyId` or `thirdPartyId` for customer ids, `mboxPC` or `pcId` for
 * Target visitor ids); every other column is an attribute, its cells strings; an empty cell is
 * absent. A record that cannot be read (a wrong number of cells, a broken quote, no id) comes with
 * `issues` instead of an update; a header that cannot be read throws a `TargetValidationError`.
 * Runs wherever the core runs: pass `response.body`, `file.stream()`, a Node stream or strings.
 * Handed to `bulkUpdate` before any row is read, the rows are read there from the bytes: valid
 * records go into the batch files as they lie, never made objects (the same files, and the same
 * rows skipped, only faster).
 * @example
 * const report = await target.bulkUpdate(readCsvRows((await fetch(exportUrl)).body!), {
 *   onInvalidRow: ({ position, issues }) => console.error(`line ${position}: ${issues[0]?.message}`),
 * });
 */
export function readCsvRows(
  input: TextInput,
  options: RowSourceOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  const state = { started: false };
  const rows = readCsvText(input, options, state);
  // bulkUpdate, given these rows before anything was read, reads the bytes itself.
  return withByteRows(rows, () => {
    if (state.started) return undefined;
    state.started = true;
    return readCsvBytes(input, options);
  });
}

async function* readCsvText(
  input: TextInput,
  options: RowSourceOptions,
  state: { started: boolean },
): AsyncGenerator<SourceRow, void, undefined> {
  if (state.started) return;
  state.started = true;
  const rows = new CsvRowMaker(options.ignore, options.onHeader);
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
    while (reader.read(buffer, at, done, rows.header?.names.length ?? 0)) {
      const row = rows.make(buffer, record, buffer.slice(record.start, record.end), line, suspect);
      at = record.next;
      line += record.lines;
      if (row) yield row;
    }
    buffer = buffer.slice(at);
  }
}
