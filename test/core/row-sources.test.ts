import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkProfileUpdate,
  isTargetValidationError,
  readCsvRows,
  readNdjsonRows,
  type SourceRow,
  type TextInput,
} from "../../src/index.js";
import { bulkUpdate, type BulkCalls } from "../../src/bulk/bulk-update.js";
import { failure } from "./support.js";

const all = async (rows: AsyncIterable<SourceRow>) => {
  const out: SourceRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
};
/** The text as a byte stream cut into pieces of `size` bytes (cuts fall inside characters too). */
const stream = (text: string, size = 7): ReadableStream<Uint8Array> => {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, (at += size)));
    },
  });
};
const csv = (text: string, size?: number) => all(readCsvRows(stream(text, size)));
const ndjson = (text: string, size?: number) => all(readNdjsonRows(stream(text, size)));

describe("readCsvRows", () => {
  it("reads a header, then one update per record with its line number and text; empty cells are absent", async () => {
    const rows = await csv("mbox3rdPartyId,tier,ltv\ncrm-1,gold,1200\ncrm-2,,30\r\n\ncrm-3,silver,\n");
    expect(rows).toEqual([
      {
        line: 2,
        text: "crm-1,gold,1200",
        update: { mbox3rdPartyId: "crm-1", attributes: { tier: "gold", ltv: "1200" } },
      },
      { line: 3, text: "crm-2,,30", update: { mbox3rdPartyId: "crm-2", attributes: { ltv: "30" } } },
      { line: 5, text: "crm-3,silver,", update: { mbox3rdPartyId: "crm-3", attributes: { tier: "silver" } } },
    ]);
  });

  it("takes thirdPartyId, mboxPC and pcId as id columns, and a Target visitor id where the customer id is empty", async () => {
    expect((await csv("thirdPartyId,a\nx,1"))[0]?.update).toEqual({ mbox3rdPartyId: "x", attributes: { a: "1" } });
    expect((await csv("a,pcId\n1,p-1"))[0]?.update).toEqual({ mboxPC: "p-1", attributes: { a: "1" } });
    const both = await csv("mbox3rdPartyId,mboxPC,a\ncrm-1,,1\n,p-2,2\ncrm-3,p-3,3\n,,4");
    expect(both.map((row) => row.update ?? row.issues)).toEqual([
      { mbox3rdPartyId: "crm-1", attributes: { a: "1" } },
      { mboxPC: "p-2", attributes: { a: "2" } },
      [{ path: "", message: "a row takes one id: mbox3rdPartyId or mboxPC, not both" }],
      [{ path: "mbox3rdPartyId or mboxPC", message: "is empty: every row needs its id" }],
    ]);
  });

  it("reads quoted cells: commas, quotes and line breaks inside, the line count kept", async () => {
    const rows = await csv(
      'mbox3rdPartyId,note,city\n"crm-1","a, ""b""\nc",Paris\ncrm-2,x,"São\r\nPaulo"\ncrm-3,y,z',
      3,
    );
    expect(rows).toEqual([
      {
        line: 2,
        text: '"crm-1","a, ""b""\nc",Paris',
        update: { mbox3rdPartyId: "crm-1", attributes: { note: 'a, "b"\nc', city: "Paris" } },
      },
      {
        line: 4,
        text: 'crm-2,x,"São\r\nPaulo"',
        update: { mbox3rdPartyId: "crm-2", attributes: { note: "x", city: "São\r\nPaulo" } },
      },
      { line: 6, text: "crm-3,y,z", update: { mbox3rdPartyId: "crm-3", attributes: { note: "y", city: "z" } } },
    ]);
  });

  it("names what is wrong with a record, never stopping: wrong widths, broken quotes, bad UTF-8", async () => {
    const bytes = [
      ...new TextEncoder().encode('mbox3rdPartyId,a,b\ncrm-1,1,2,3\ncrm-2,1\ncrm-3,"x"y,2\ncrm-4,'),
      0xff,
      ...new TextEncoder().encode(',2\ncrm-5,1,2\ncrm-6,"never closed'),
    ];
    const rows = await all(readCsvRows([new Uint8Array(bytes)]));
    expect(rows.map(({ line, issues, update }) => [line, issues?.[0]?.message ?? update])).toEqual([
      [2, "has 4 cells where the header has 3 (a comma in a cell that is not quoted?)"],
      [3, "has 2 cells where the header has 3"],
      [4, "a quoted cell must be followed by a comma or the end of the line"],
      [5, "is not valid UTF-8 text (save the file as UTF-8)"],
      [6, { mbox3rdPartyId: "crm-5", attributes: { a: "1", b: "2" } }],
      [7, "a quoted cell is never closed"],
    ]);
    expect(rows[0]?.text).toBe("crm-1,1,2,3");
  });

  it("refuses a header it cannot use, naming the rule", async () => {
    for (const [header, rule] of [
      ["tier,ltv", /no id column/],
      ["mbox3rdPartyId,tier,tier", /two columns are named "tier"/],
      ["mbox3rdPartyId,,ltv", /column 2 has no name/],
      ["mbox3rdPartyId,thirdPartyId", /two customer id columns/],
    ] as const) {
      const error = await failure(csv(`${header}\nx,y,z`));
      expect(isTargetValidationError(error) && error.issues[0]).toEqual({
        path: "header",
        message: expect.stringMatching(rule),
      });
    }
  });

  it("leaves out the columns it is told to ignore (a rejects file's notes)", async () => {
    const rows = await all(
      readCsvRows(["rejected:line,mbox3rdPartyId,tier\n", "12,crm-1,gold\n"], { ignore: ["rejected:line"] }),
    );
    expect(rows[0]?.update).toEqual({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } });
  });

  it("reads strings, byte iterables and streams alike; a BOM is dropped; no rows for an empty input", async () => {
    const text = "\uFEFFmbox3rdPartyId,tier\ncrm-1,gold";
    async function* bytes() {
      yield new TextEncoder().encode(text);
    }
    for (const input of [[text], bytes(), stream(text, 1)] as TextInput[]) {
      expect((await all(readCsvRows(input)))[0]?.update).toEqual({
        mbox3rdPartyId: "crm-1",
        attributes: { tier: "gold" },
      });
    }
    expect(await csv("")).toEqual([]);
    expect(await csv("mbox3rdPartyId,tier\n")).toEqual([]);
    const error = await failure(all(readCsvRows(42 as unknown as TextInput)));
    expect(error.message).toMatch(/reads a ReadableStream/);
  });

  it("reads any CSV a writer makes, however the bytes are cut (property)", async () => {
    const cell = fc.string({ unit: fc.constantFrom("a", "é", "😀", ",", '"', "\n", "\r\n", " ", "x"), maxLength: 6 });
    const quote = (text: string) => (/[",\n\r]/.test(text) || text === "" ? `"${text.replace(/"/g, '""')}"` : text);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 9 }),
        async (records, size) => {
          const body = records.map(([a, b], i) => [`id-${i}`, a, b].map(quote).join(",")).join("\r\n");
          const rows = await csv(`mbox3rdPartyId,a,b\r\n${body}`, size);
          expect(rows.map((row) => row.update)).toEqual(
            records.map(([a, b], i) => ({
              mbox3rdPartyId: `id-${i}`,
              attributes: { ...(a !== "" && { a }), ...(b !== "" && { b }) },
            })),
          );
          let line = 2;
          for (const [index, row] of rows.entries()) {
            expect(row.line).toBe(line);
            line += 1 + (records[index]!.join("").match(/\n/g)?.length ?? 0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("readNdjsonRows", () => {
  it("reads updates, flat objects and the id aliases, line by line", async () => {
    const rows = await ndjson(
      [
        '{"mbox3rdPartyId":"crm-1","attributes":{"tier":"gold","ltv":1200}}',
        '{"thirdPartyId":"crm-2","tier":"silver","optIn":true}',
        "",
        '{"pcId":"p-3","attributes":{"tier":"bronze"}}\r',
        '{"mboxPC":"p-4","visits":3}',
      ].join("\n"),
    );
    expect(rows.map(({ line, update }) => [line, update])).toEqual([
      [1, { mbox3rdPartyId: "crm-1", attributes: { tier: "gold", ltv: 1200 } }],
      [2, { mbox3rdPartyId: "crm-2", attributes: { tier: "silver", optIn: true } }],
      [4, { mboxPC: "p-3", attributes: { tier: "bronze" } }],
      [5, { mboxPC: "p-4", attributes: { visits: 3 } }],
    ]);
    expect(rows[2]?.text).toBe('{"pcId":"p-3","attributes":{"tier":"bronze"}}');
  });

  it("names what is wrong with a line: not JSON, not an object, an integer JSON rounds, a repeated id", async () => {
    const rows = await ndjson(
      [
        '{"mbox3rdPartyId":"crm-1",',
        "[1,2]",
        '{"mbox3rdPartyId":"crm-3","ltv":12345678901234567890}',
        '{"mbox3rdPartyId":"a","thirdPartyId":"b","x":1}',
      ].join("\n"),
    );
    expect(rows.map(({ line, issues }) => [line, issues])).toEqual([
      [1, [{ path: "", message: "is not valid JSON" }]],
      [2, [{ path: "", message: "must be a JSON object: an update, or an id beside the attributes" }]],
      [3, [{ path: "ltv", message: "is an integer JSON cannot carry exactly: quote it as a string" }]],
      [4, [{ path: "thirdPartyId", message: "repeats the customer id" }]],
    ]);
  });

  it("passes what breaks Target's rules on, for the check to name", async () => {
    const [row] = await ndjson('{"mbox3rdPartyId":"crm-1","tier":""}');
    expect(checkProfileUpdate(row?.update)).toEqual([
      { path: "attributes.tier", message: expect.stringContaining("must not be an empty string") },
    ]);
  });
});

describe("checkProfileUpdate", () => {
  it("answers [] for a valid update and the schema's issues otherwise, never the value", () => {
    expect(checkProfileUpdate({ mbox3rdPartyId: "crm-1", attributes: { tier: "gold", ltv: 3, optIn: false } })).toEqual(
      [],
    );
    expect(checkProfileUpdate({ mbox3rdPartyId: "a/b", attributes: { tier: "gold" } })).toEqual([
      { path: "mbox3rdPartyId", message: "mbox3rdPartyId must not contain '+' or '/'" },
    ]);
    expect(checkProfileUpdate({ mboxPC: "p", attributes: { "profile.tier": "x" } })[0]?.message).toMatch(/profile\./);
    expect(checkProfileUpdate({ mbox3rdPartyId: "crm-1", attributes: { note: "\uD800" } })[0]?.path).toBe(
      "attributes.note",
    );
    expect(checkProfileUpdate(null)).toHaveLength(1);
  });
});

describe("a source that refills one buffer", () => {
  /** The text's bytes, `size` at a time, each chunk written over the last (as the command line reads a file). */
  async function* refilled(text: string, size: number): AsyncGenerator<Uint8Array> {
    const bytes = new TextEncoder().encode(text);
    const buffer = new Uint8Array(size);
    for (let at = 0; at < bytes.length; at += size) {
      const chunk = bytes.subarray(at, at + size);
      buffer.fill(0).set(chunk);
      yield buffer.subarray(0, chunk.length);
    }
  }
  const csvText = 'mbox3rdPartyId,tier,note\ncrm-1,gold,"a, b"\ncrm-2,,é😀\ncrm/3,x,y\ncrm-4,silver,"say ""hi"""\n';
  const ndjsonText =
    '{"mbox3rdPartyId":"crm-1","attributes":{"tier":"gold"}}\n{"mboxPC":"pc-1","tier":"é"}\nnot json\n';

  it("gives the rows fresh chunks give: each chunk is read before the next is asked for", async () => {
    for (const size of [1, 3, 7, 64]) {
      expect(await all(readCsvRows(refilled(csvText, size)))).toEqual(await csv(csvText, size));
      expect(await all(readNdjsonRows(refilled(ndjsonText, size)))).toEqual(await ndjson(ndjsonText, size));
    }
  });

  it("gives bulkUpdate, which reads a CSV source's bytes, the files fresh chunks give", async () => {
    const files = async (input: TextInput) => {
      const bodies: string[] = [];
      const calls: BulkCalls = {
        submit: async (file) => {
          bodies.push(typeof file.body === "string" ? file.body : new TextDecoder().decode(file.body));
          return { batchId: `b${bodies.length}`, statusUrl: "https://example.test/status", message: "" };
        },
        wait: () => Promise.reject(new Error("not waited for")),
      };
      await bulkUpdate(calls, readCsvRows(input), { wait: false, maxRows: 2, onInvalidRow: () => {} });
      return bodies;
    };
    for (const size of [1, 3, 7, 64]) {
      const fresh = await files(stream(csvText, size));
      expect(fresh.length).toBe(2);
      expect(await files(refilled(csvText, size))).toEqual(fresh);
    }
  });
});
