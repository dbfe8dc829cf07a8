// bulkUpdate reads readCsvRows' input as bytes, valid records straight into the batch files: held
// here to the plain reading it replaces (the SourceRows of readCsvRows, each checked and encoded).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BatchBytes, BatchFile } from "../../src/bulk/batch-file.js";
import { bulkUpdate, type BulkCalls, type InvalidRow } from "../../src/bulk/bulk-update.js";
import { readCsvBytes } from "../../src/bulk/csv-byte-rows.js";
import { plainSequenceAt } from "../../src/bulk/plain-utf8.js";
import { readCsvRows, type SourceRow, type TextInput } from "../../src/index.js";

/** What bulkUpdate did: each file as submitted, and each row it skipped. */
async function push(rows: AsyncIterable<SourceRow>, maxRows?: number) {
  const files: { body: string; rows: number; input: unknown; columns: readonly string[] }[] = [];
  const invalid: { position: number; issues: unknown; row: unknown }[] = [];
  const calls: BulkCalls = {
    async submit(file: BatchFile | BatchBytes) {
      const body = typeof file.body === "string" ? file.body : new TextDecoder().decode(file.body);
      files.push({ body, rows: file.rows, input: file.input, columns: [...file.columns] });
      return { batchId: `b${files.length}`, statusUrl: "https://example.test/status", message: "" };
    },
    wait: () => Promise.reject(new Error("not waited for")),
  };
  const report = await bulkUpdate(calls, rows, {
    wait: false,
    ...(maxRows !== undefined && { maxRows }),
    onInvalidRow: ({ position, issues, row }: InvalidRow) =>
      invalid.push({ position, issues, row: { ...(row as object) } }),
  });
  return { files, invalid, rowsRead: report.rowsRead, rowsRejected: report.rowsRejected };
}

/** The same rows without their bytes: bulkUpdate reads them one by one. */
async function* plain(rows: AsyncIterable<SourceRow>): AsyncGenerator<SourceRow> {
  yield* rows;
}

/** The bytes as a stream cut into pieces of `size` (cuts fall inside characters and records). */
const stream = (bytes: Uint8Array, size: number): ReadableStream<Uint8Array> => {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, (at += size)));
    },
  });
};

// Pieces of cells: plain text, multi-byte characters, CSV's delimiters, what ids must not hold, a
// replacement character, and bytes that are not UTF-8 (a lone continuation byte, a cut sequence,
// an encoded surrogate, an overlong form).
const RAW: Record<string, number[]> = {
  "<80>": [0x80],
  "<e2 82>": [0xe2, 0x82],
  "<ed a0 80>": [0xed, 0xa0, 0x80],
  "<c0 af>": [0xc0, 0xaf],
  "<f4 90 80 80>": [0xf4, 0x90, 0x80, 0x80],
};
const piece = fc.constantFrom(
  "a",
  "x",
  "é",
  "€",
  "😀",
  ",",
  '"',
  "\n",
  "\r\n",
  "\r",
  " ",
  "+",
  "/",
  "\uFFFD",
  "\uFEFF",
  ...Object.keys(RAW),
);
const cell = fc.array(piece, { maxLength: 5 }).map((pieces) => pieces.join(""));

function toBytes(text: string): Uint8Array {
  const parts = text.split(/(<[0-9a-f ]+>)/);
  const bytes: number[] = [];
  for (const part of parts) bytes.push(...(RAW[part] ?? new TextEncoder().encode(part)));
  return Uint8Array.from(bytes);
}

const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

describe("bulkUpdate over readCsvRows' bytes", () => {
  it("submits the very files, and skips the very rows, of the plain reading (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("mbox3rdPartyId", "mboxPC", "thirdPartyId"),
        // Names the bytes cannot take as they lie: an array index (an object puts it first), a reserved one.
        fc.constantFrom("tier", "tier", "2024", "__proto__", "city%"),
        fc.array(
          fc.record({
            id: fc.oneof(fc.constantFrom("crm-1", "crm-2", "c+1", "", "crm-é"), cell),
            cells: fc.array(cell, { minLength: 2, maxLength: 3 }),
            // "raw": cells joined as they are, so quotes, commas and line breaks in them break the record.
            quoting: fc.constantFrom("as needed", "always", "raw"),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.integer({ min: 1, max: 13 }),
        fc.boolean(),
        fc.constantFrom("\n", "\r\n"),
        fc.constantFrom(undefined, 2),
        fc.constantFrom("", "\n", "\r\n", "\r"),
        async (idColumn, name, records, size, bom, lineBreak, maxRows, end) => {
          const lines = records.map(({ id, cells, quoting }) =>
            [id, ...cells]
              .map((text) =>
                quoting === "always" ? `"${text.replace(/"/g, '""')}"` : quoting === "raw" ? text : quote(text),
              )
              .join(","),
          );
          const text = `${bom ? "\uFEFF" : ""}${idColumn},${name},note,rejected:line${lineBreak}${lines.join(lineBreak)}${end}`;
          const bytes = toBytes(text);
          const options = { ignore: ["rejected:line"] };
          const direct = await push(readCsvRows(stream(bytes, size), options), maxRows);
          const read = await push(plain(readCsvRows(stream(bytes, size), options)), maxRows);
          expect(direct).toEqual(read);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads strings and byte iterables alike, merging a repeated id as the plain reading does", async () => {
    const text = 'mbox3rdPartyId,tier,city\ncrm-1,gold,Zürich\ncrm-2,,"São ""Paulo"""\ncrm-1,,Łódź\r\ncrm/3,x,y\n';
    async function* bytes() {
      yield new TextEncoder().encode(text.slice(0, 30));
      yield new TextEncoder().encode(text.slice(30));
    }
    const inputs: (() => TextInput)[] = [() => [text], () => bytes()];
    for (const input of inputs) {
      const result = await push(readCsvRows(input()));
      expect(result).toEqual(await push(plain(readCsvRows(input()))));
      expect(result.files.map((file) => file.body)).toEqual([
        // A merged row is written anew, after the others.
        "batch=thirdPartyId,tier,city\ncrm-2,,S%C3%A3o%20%22Paulo%22\ncrm-1,gold,%C5%81%C3%B3d%C5%BA",
      ]);
      expect(result.invalid.map(({ position }) => position)).toEqual([5]);
      // Every valid record went as bytes; the header and the bad row were read as text.
      const rows = readCsvBytes(input(), {});
      const kinds: string[] = [];
      for (let row = rows.next(); row !== undefined || (await rows.more()); row = rows.next()) {
        if (row) kinds.push(row === rows.byteRow ? `bytes ${rows.byteRow.line}` : `text ${row.line}`);
      }
      expect(kinds).toEqual(["bytes 2", "bytes 3", "bytes 4", "text 5"]);
    }
  });

  it("lets go of the input when it stops, whether it read any of it or not", async () => {
    const bytes = new TextEncoder().encode("mbox3rdPartyId,tier\ncrm-1,gold\ncrm-2,silver\n");
    for (const maxRows of [0, 1]) {
      let cancelled = false;
      const input = new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(bytes.slice()),
        cancel: () => void (cancelled = true),
      });
      const calls: BulkCalls = {
        // The first file's upload fails: the update stops part way.
        submit: () => Promise.reject(new Error("unreachable")),
        wait: () => Promise.reject(new Error("not waited for")),
      };
      // maxRows 0 is refused before anything is read; with 1, the second row closes a file.
      await expect(bulkUpdate(calls, readCsvRows(input), { wait: false, maxRows })).rejects.toThrow(
        "bulk update stopped",
      );
      expect(cancelled).toBe(true);
    }
  });

  it("keeps a U+FEFF inside the text, however the bytes are cut; only the input's first is dropped", async () => {
    const bytes = new TextEncoder().encode("\uFEFFmbox3rdPartyId,tier\ncrm-1,\uFEFFx\ncrm-2,y\uFEFF");
    for (const rows of [readCsvRows(stream(bytes, 1)), plain(readCsvRows(stream(bytes, 1)))]) {
      const result = await push(rows);
      expect(result.files.map((file) => file.body)).toEqual([
        "batch=thirdPartyId,tier\ncrm-1,%EF%BB%BFx\ncrm-2,y%EF%BB%BF",
      ]);
    }
  });

  it("takes for UTF-8 exactly what TextDecoder reads without a replacement character", () => {
    // The bytes read sequence by sequence, as the reader of records reads them.
    const isPlainUtf8 = (bytes: Uint8Array) => {
      for (let at = 0; at < bytes.length; at++) {
        if (bytes[at]! < 0x80) continue;
        const length = plainSequenceAt(bytes, at, bytes.length);
        if (length === 0) return false;
        at += length - 1;
      }
      return true;
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 12 }),
          fc.string({ unit: "binary", maxLength: 6 }).map((text) => new TextEncoder().encode(text)),
          fc
            .tuple(
              fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
              fc.nat(),
              fc.integer({ min: 0, max: 255 }),
            )
            .map(([text, at, byte]) => {
              const bytes = new TextEncoder().encode(text);
              bytes[at % bytes.length] = byte;
              return bytes;
            }),
        ),
        (bytes) => {
          const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes);
          expect(isPlainUtf8(bytes)).toBe(!text.includes("\uFFFD"));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
