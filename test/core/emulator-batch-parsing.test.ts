import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BatchCheck, parseBatchBody, type BatchParseResult } from "../../src/emulator/batch-parsing.js";
import { decodeFormBytes, decodeFormComponent } from "../../src/emulator/form-decoding.js";
import { MAX_BATCH_ROWS } from "../../src/limits.js";

// The emulator reads batch bodies byte by byte, for speed. These tests hold it to the plain reading it
// replaced (below, as it was): decode the body, split the field into lines and cells, decode each cell
// with a TextEncoder and a fatal TextDecoder. Same refusals, same rows, on any body.

describe("the emulator's batch parsing, against the plain reading", () => {
  it("refuses and reads every body as the plain reading does", () => {
    fc.assert(
      fc.property(body(), (bytes) => {
        expect(read(bytes)).toEqual(referenceRead(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("answers the same when the body is checked as it arrives, in any pieces", () => {
    fc.assert(
      fc.property(body(), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        // The body arrives into a buffer of its final size, as the emulator reads it; what is not
        // in yet is junk that would change the answer if it were read.
        const buffer = new Uint8Array(bytes.length).fill(0x26);
        const check = new BatchCheck();
        let received = 0;
        for (const cut of cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b)) {
          buffer.set(bytes.subarray(received, cut), received);
          received = cut;
          check.feed(buffer, received);
        }
        buffer.set(bytes.subarray(received), received);
        expect(rowsOf(check.finish(buffer))).toEqual(read(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes every cell as a TextEncoder and a fatal TextDecoder do", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ unit: "binary", maxLength: 3 }))),
        (parts) => {
          const text = parts.join("");
          const bytes = new TextEncoder().encode(text);
          let expected: string | Error;
          try {
            expected = referenceDecode(text);
          } catch (error) {
            expected = error as Error;
          }
          if (expected instanceof Error) {
            expect(() => decodeFormComponent(text)).toThrow(URIError);
            expect(() => decodeFormBytes(bytes, 0, bytes.length)).toThrow(URIError);
          } else {
            expect(decodeFormComponent(text)).toBe(expected);
            expect(decodeFormBytes(bytes, 0, bytes.length)).toBe(expected);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("reads rows of more than 32 columns as the plain reading does", () => {
    const names = Array.from({ length: 70 }, (_, index) => `a${index}`);
    const cells = (valued: number[]) => names.map((_, index) => (valued.includes(index) ? `v${index}` : ""));
    const rows = [cells([0, 30, 31, 32, 63, 64, 69]), cells([]), cells([33]), cells([69])];
    const text = `batch=thirdPartyId,${names.join(",")}\n${rows.map((row, index) => [`crm-${index}`, ...row].join(",")).join("\n")}`;
    const bytes = new TextEncoder().encode(text);
    expect(read(bytes)).toEqual(referenceRead(bytes));
    expect(read(bytes)).toMatchObject({ ok: true, size: 3 });
  });

  it("counts rows past the limit as the plain reading does", () => {
    const rows = Array.from({ length: MAX_BATCH_ROWS + 1 }, (_, index) => `crm-${index},x`).join("\n");
    const bytes = new TextEncoder().encode(`batch=thirdPartyId,tier\n${rows}`);
    expect(read(bytes)).toEqual(referenceRead(bytes));
    expect(read(bytes)).toEqual({ ok: false, message: "Batch file must hold at most 500000 rows", status: 400 });
  });
});

// Cells and names made of what a body can hold: escapes good and bad, form characters, raw UTF-8.
const GOOD = ["a", "Z9", "%41", "%2C", "%26", "%0A", "%C3%A9", "%c3%a9", "%E6%97%A5", "%F0%9F%98%80", "%EF%BB%BF"];
const ODD = ["+", "%2B", "é", "日", "😀", "\r", "=", "\uFEFF"];
const BAD = ["%", "%4", "%zz", "%C3", "%A9", "%C0%80", "%ED%A0%80", "%F4%90%80%80", "%E0%80%80"];
const TOKENS = [...GOOD, ...ODD, ...BAD];

const goodCell = fc
  .array(fc.oneof({ arbitrary: fc.constantFrom(...GOOD), weight: 3 }, fc.constantFrom(...ODD)), { maxLength: 3 })
  .map((parts) => parts.join(""));
const cell = fc.oneof(
  { arbitrary: goodCell, weight: 60 },
  { arbitrary: fc.tuple(goodCell, fc.constantFrom(...BAD)).map(([good, bad]) => good + bad), weight: 1 },
);

/** A body: mostly well-formed batches, with every kind of flaw now and then. */
function body(): fc.Arbitrary<Uint8Array> {
  const idType = fc.oneof(
    { arbitrary: fc.constantFrom("thirdPartyId", "pcId"), weight: 20 },
    { arbitrary: fc.constantFrom("other", "third%50artyId", "", "%zz"), weight: 1 },
  );
  const name = fc.oneof(
    { arbitrary: fc.constantFrom("tier", "city", "a%2Cb", "x+y", "n%C3%A9"), weight: 10 },
    { arbitrary: cell, weight: 1 },
  );
  const id = fc.oneof(
    { arbitrary: fc.constantFrom("crm-1", "crm-2", "crm-3"), weight: 10 },
    { arbitrary: fc.constantFrom("", "crm+1", "crm/1", "%2B1"), weight: 2 },
    { arbitrary: cell, weight: 2 },
  );
  return fc
    .record({
      prefix: fc.oneof(
        { arbitrary: fc.constant("batch="), weight: 20 },
        fc.constantFrom("batch", "\uFEFFbatch=", "x=1&batch="),
      ),
      header: fc.tuple(idType, fc.array(name, { maxLength: 4 })),
      rows: fc.array(fc.tuple(id, fc.array(cell, { maxLength: 5 })), { maxLength: 6 }),
      newline: fc.constantFrom("\n", "\r\n", "\n\n"),
      tail: fc.constantFrom("", "", "\n", "\r", "&other=1", "&"),
      wider: fc.oneof({ arbitrary: fc.constant(0), weight: 20 }, fc.constant(1)),
      flaw: fc.oneof(
        { arbitrary: fc.constant(null), weight: 4 },
        fc.tuple(fc.nat(), fc.constantFrom(0xff, 0xc3, 0x80, 0x26, 0x0a, 0x2c, 0x0d)),
      ),
    })
    .map(({ prefix, header: [type, names], rows, newline, tail, wider, flaw }) => {
      // Rows mostly no wider than the header; now and then one cell more.
      const width = names.length + wider;
      const lines = [
        [type, ...names].join(","),
        ...rows.map(([first, cells]) => [first, ...cells.slice(0, width)].join(",")),
      ];
      const bytes = new TextEncoder().encode(prefix + lines.join(newline) + tail);
      if (flaw === null || bytes.length === 0) return bytes;
      // One byte swapped for a raw one: not UTF-8, an `&`, a line break, a comma or a \r where it was not.
      const [at, byte] = flaw;
      bytes[at % bytes.length] = byte;
      return bytes;
    });
}

/** What the parser reads: the refusal, or the id type, size and rows (ids and attributes, decoded). */
function read(bytes: Uint8Array) {
  return rowsOf(parseBatchBody(bytes));
}

function rowsOf(parsed: BatchParseResult) {
  if (!parsed.ok) return parsed;
  const { idType, size, source } = parsed.batch;
  // Each row is read as it comes: the next one is read into the same object.
  const rows = Array.from(parsed.batch.rows(), ({ id, start, count, columns }) => ({
    id,
    attributes: Array.from(columns.subarray(0, count), (column) => [
      source.columns[column]!,
      source.value(start, column),
    ]),
  }));
  return { ok: true, idType, size, rows };
}

// ── the plain reading, as it was ────────────────────────────────────────────────────────────────

const encoder = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function referenceDecode(text: string): string {
  if (!text.includes("%")) return text.includes("+") ? text.replaceAll("+", " ") : text;
  const bytes = encoder.encode(text);
  let length = 0;
  for (let read = 0; read < bytes.length; read++) {
    const byte = bytes[read]!;
    if (byte === 0x25) {
      const high = hexValue(bytes[read + 1]);
      const low = hexValue(bytes[read + 2]);
      if (high < 0 || low < 0) throw new URIError("Malformed percent-encoding");
      bytes[length++] = high * 16 + low;
      read += 2;
    } else {
      bytes[length++] = byte === 0x2b ? 0x20 : byte;
    }
  }
  try {
    return fatal.decode(bytes.subarray(0, length));
  } catch {
    throw new URIError("Percent-encoding is not UTF-8");
  }
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

class Refusal extends Error {}

function referenceRead(body: Uint8Array) {
  const refuse = (message: string, status = 400) => ({ ok: false, message, status });
  let text: string;
  try {
    text = fatal.decode(body);
  } catch {
    return refuse("Unexpected error", 200);
  }
  if (!text.startsWith("batch=")) return refuse("Missing batch parameter");
  const end = text.indexOf("&");
  const field = end < 0 ? text.slice(6) : text.slice(6, end);
  try {
    const [header = ""] = splitLines(field);
    const columns = header.split(",").map(referenceDecode);
    const idType = columns[0];
    if (idType !== "thirdPartyId" && idType !== "pcId") return refuse("The first column must be thirdPartyId or pcId");
    if (!columns.slice(1).every((name) => name !== "" && name.length <= 128)) {
      return refuse("Invalid attribute name in header");
    }
    const rows = [...referenceRows(field, columns)];
    if (rows.length === 0) return refuse("Batch is empty", 200);
    const valued = rows.filter((row) => row.attributes.length > 0);
    return { ok: true, idType, size: valued.length, rows: valued };
  } catch (error) {
    if (error instanceof URIError) return refuse("Unexpected error", 200);
    if (error instanceof Refusal) return refuse(error.message);
    throw error;
  }
}

function* referenceRows(field: string, columns: readonly string[]) {
  const lines = splitLines(field);
  lines.next();
  let count = 0;
  for (const line of lines) {
    if (line === "") continue;
    if (++count > MAX_BATCH_ROWS) throw new Refusal(`Batch file must hold at most ${MAX_BATCH_ROWS} rows`);
    const cells = line.split(",");
    if (cells.length > columns.length) throw new Refusal(`Row ${count} has more cells than the header`);
    const id = referenceDecode(cells[0]!);
    const attributes: Array<[string, string]> = [];
    for (let index = 1; index < cells.length; index++) {
      const value = referenceDecode(cells[index]!);
      if (value !== "") attributes.push([columns[index]!, value]);
    }
    yield { id, attributes };
  }
}

function* splitLines(text: string) {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    yield text.charCodeAt(end - 1) === 0x0d && end > start ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
  }
}
