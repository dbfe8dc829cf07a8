import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { BatchFileBuilder, percentEncodeInto, type BatchFile } from "../../src/bulk/batch-file.js";
import { checkRowFast, readRow, type BatchRow } from "../../src/bulk/batch-row.js";
import { encodeBatches, encodeBatchesAsync, type EncodeOptions } from "../../src/bulk/encode-batches.js";
import { isTargetValidationError, type TargetValidationError } from "../../src/errors.js";
import { ProfileUpdateSchema, type ProfileUpdate } from "../../src/profile-update.js";

const encodeAll = (rows: Iterable<unknown>, options?: EncodeOptions) => [
  ...encodeBatches(rows as Iterable<ProfileUpdate>, options),
];
const bodies = (rows: Iterable<unknown>, options?: EncodeOptions) => encodeAll(rows, options).map((file) => file.body);
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

// Any Unicode scalar (fast-check's own "binary" unit takes over a second to build its table).
const codePoint = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((code) => code < 0xd800 || code > 0xdfff)
  .map((code) => String.fromCodePoint(code));

/** The error `run` throws, which must be a TargetValidationError. */
function validationError(run: () => unknown): TargetValidationError {
  try {
    run();
  } catch (error) {
    if (isTargetValidationError(error)) return error;
    throw error;
  }
  throw new Error("expected a TargetValidationError");
}

// An independent reader: lines on \n, cells on ",", decodeURIComponent — nothing from src/.
function readFile(file: BatchFile) {
  const [header = "", ...lines] = file.body.slice("batch=".length).split("\n");
  const [idType, ...columns] = header.split(",").map(decodeURIComponent);
  const rows = lines.map((line) => {
    const [id = "", ...values] = line.split(",").map(decodeURIComponent);
    const attributes = new Map(columns.flatMap((name, i) => (values[i] ? [[name, values[i]!] as const] : [])));
    return { id, attributes, width: values.length };
  });
  // What is wrong with the file, if anything (checked with one expect: many are slow in a property).
  const problems = [
    !/^batch=[A-Za-z0-9\-_.!~*'()%,\n]*$/.test(file.body) && "a raw character",
    rows.some((row) => row.width !== columns.length) && "a row of another width than the header",
    idType !== file.idType && "idType",
    JSON.stringify(columns) !== JSON.stringify(file.columns) && "columns",
    rows.length !== file.rows && "rows",
    (utf8Length(file.body) !== file.bytes || file.body.length !== file.bytes) && "bytes",
  ].filter(Boolean);
  return { rows, problems };
}

describe("encodeBatches: the body", () => {
  it("is batch=, the header, then one line per visitor, no trailing newline", () => {
    const files = encodeAll([
      { mbox3rdPartyId: "crm-1", attributes: { tier: "gold", ltv: 1200 } },
      { mbox3rdPartyId: "crm-2", attributes: { city: "São Paulo", skipped: null } },
    ]);
    expect(files).toEqual([
      {
        body: "batch=thirdPartyId,tier,ltv,city\ncrm-1,gold,1200,\ncrm-2,,,S%C3%A3o%20Paulo",
        rows: 2,
        bytes: 74,
        idType: "thirdPartyId",
        columns: ["tier", "ltv", "city"],
        input: { rows: 2, first: 0, last: 1 },
      },
    ]);
  });

  it("encodes every name and cell as encodeURIComponent does", () => {
    // Names cannot hold line breaks (control characters); values can.
    const tricky = ["a,b", "x\ny", "\r\n", "x&y", "a=b", "1+1", "50%", '"q"', "é", "東京", "🎉", "a b"];
    const names = tricky.map((text) => `${text.replace(/[\r\n]/g, "")}!`);
    const attributes = Object.fromEntries(tricky.map((text, i) => [names[i], text]));
    const [file] = encodeAll([{ mbox3rdPartyId: "id,&=%🎉", attributes }]);
    const header = ["thirdPartyId", ...names.map(encodeURIComponent)].join(",");
    const row = [encodeURIComponent("id,&=%🎉"), ...tricky.map(encodeURIComponent)].join(",");
    expect(file?.body).toBe(`batch=${header}\n${row}`);
    expect(file?.columns).toEqual(names);
    expect(file?.bytes).toBe(utf8Length(file!.body));
  });

  it("writes numbers and booleans as String() does", () => {
    const numbers = [
      0,
      -0,
      7,
      -42,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1e21,
      1e-7,
      0.1,
      -12.5,
      123456789012,
      Number.MIN_VALUE,
      // Decimals: written from their digits up to 6 places and 15 digits, past that by String().
      0.05,
      -0.05,
      12.34,
      1.5,
      2.675,
      0.1 + 0.2,
      1 / 3,
      0.000001,
      -0.0000015,
      123456789012345.6,
      12345678901234.56,
    ];
    const attributes = Object.fromEntries([...numbers, true, false].map((value, i) => [`n${i}`, value]));
    const { rows, problems } = readFile(encodeAll([{ mboxPC: "pc", attributes }])[0]!);
    expect(problems).toEqual([]);
    expect([...rows[0]!.attributes.values()]).toEqual([...numbers, true, false].map(String));
  });

  it("puts the columns in first-seen order, cells in their column, missing ones empty", () => {
    expect(
      bodies([
        { mbox3rdPartyId: "a", attributes: { x: "1", y: "2", z: "3" } },
        { mbox3rdPartyId: "b", attributes: { z: "4", x: "5" } },
        { mbox3rdPartyId: "c", attributes: { w: "6", y: "7" } },
      ]),
    ).toEqual(["batch=thirdPartyId,x,y,z,w\na,1,2,3,\nb,5,,4,\nc,,7,,6"]);
  });
});

describe("encodeBatches: rows", () => {
  it("keeps third-party ids and pcIds in separate files", () => {
    const files = encodeAll([
      { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } },
      { mboxPC: "1368007744041-575948.01_00", attributes: { tier: "silver" } },
      { mbox3rdPartyId: "crm-2", attributes: { tier: "bronze" } },
    ]);
    expect(files.map((file) => [file.idType, file.body])).toEqual([
      ["thirdPartyId", "batch=thirdPartyId,tier\ncrm-1,gold\ncrm-2,bronze"],
      ["pcId", "batch=pcId,tier\n1368007744041-575948.01_00,silver"],
    ]);
  });

  it("merges the same id into one row, later values winning per attribute (the row moves to its last place)", () => {
    expect(
      bodies([
        { mbox3rdPartyId: "a", attributes: { tier: "gold", ltv: 1 } },
        { mbox3rdPartyId: "b", attributes: { tier: "bronze" } },
        { mbox3rdPartyId: "a", attributes: { city: "Paris", tier: "silver", ltv: null } },
        { mboxPC: "a", attributes: { tier: "pc" } },
      ]),
    ).toEqual(["batch=thirdPartyId,tier,ltv,city\nb,bronze,,\na,silver,1,Paris", "batch=pcId,tier\na,pc"]);
  });

  it("counts bytes exactly: a file's own size as maxBytes keeps it whole, one byte less splits it", () => {
    // Distinct ids, so that every row only grows the file (a merge may also shrink it).
    const customers = fc.uniqueArray(fc.record({ mbox3rdPartyId: key, attributes }), {
      minLength: 2,
      selector: (update) => update.mbox3rdPartyId,
    });
    fc.assert(
      fc.property(customers, (rows) => {
        const [whole] = encodeAll(rows);
        expect(encodeAll(rows, { maxBytes: whole!.bytes })).toEqual([whole]);
        const split = encodeAll(rows, { maxBytes: whole!.bytes - 1 });
        expect(split.length).toBeGreaterThan(1);
        expect(split.every((file) => file.bytes < whole!.bytes)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps merging the same few ids over many updates (old text is reclaimed)", () => {
    const updates = Array.from({ length: 3000 }, (_, i) => ({
      mbox3rdPartyId: `id-${i % 3}`,
      attributes: { [`k${i % 5}`]: `${i}`.padStart(60, "x"), last: i },
    }));
    const [file, ...rest] = encodeAll(updates);
    expect(rest).toEqual([]);
    // Each id's last write of each key wins; rows sit where their id was last written.
    const columns = ["k0", "last", "k1", "k2", "k3", "k4"];
    const state = new Map<string, Record<string, unknown>>();
    for (const { mbox3rdPartyId: id, attributes } of updates) {
      const merged = { ...state.get(id), ...attributes };
      state.delete(id);
      state.set(id, merged);
    }
    const lines = [...state].map(([id, attributes]) => [id, ...columns.map((name) => attributes[name])].join(","));
    expect(file?.body).toBe([`batch=thirdPartyId,${columns.join(",")}`, ...lines].join("\n"));
  });

  it("reads async and sync inputs alike", async () => {
    const rows: ProfileUpdate[] = [
      { mbox3rdPartyId: "a", attributes: { x: 1 } },
      { mboxPC: "b", attributes: { y: 2 } },
      { mbox3rdPartyId: "c", attributes: { x: 3 } },
      { mbox3rdPartyId: "a", attributes: { z: 4 } },
    ];
    async function* slowly() {
      for (const row of rows) yield await Promise.resolve(row);
    }
    const fromAsync: BatchFile[] = [];
    for await (const file of encodeBatchesAsync(slowly(), { maxRows: 2 })) fromAsync.push(file);
    const fromSync: BatchFile[] = [];
    for await (const file of encodeBatchesAsync(rows, { maxRows: 2 })) fromSync.push(file);
    expect(fromAsync).toEqual(encodeAll(rows, { maxRows: 2 }));
    expect(fromSync).toEqual(fromAsync);
  });

  // Random rows: a few ids (so some merge), names and values needing escapes, numbers of every kind.
  const key = fc.constantFrom("crm-1", "crm-2", "a,b", "é", "x&y=z", "50%", "1368007744041-575948.01_00");
  const name = fc.constantFrom("tier", "ltv", "two words", "ünï", "a,b", "50%", "emoji🎉", "x=y&z");
  const value = fc.oneof(
    fc.string({ minLength: 1, maxLength: 8, unit: codePoint }),
    fc.constantFrom("a,b", "x\ny", "\r\n", "&", "=", "+", "%", '"q"', "🎉"),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const attributes = fc
    .dictionary(name, value, { minKeys: 1 })
    .filter((cells) => Object.values(cells).some((cell) => cell !== null));
  const row = fc
    .record({ pc: fc.boolean(), id: key, attributes })
    .map(({ pc, id, attributes }): ProfileUpdate =>
      pc ? { mboxPC: id, attributes } : { mbox3rdPartyId: id, attributes },
    );

  it("writes the same files, and refuses the same rows, as the longer way (each row read first) does (property)", () => {
    // The longer way: every row read (and checked) into names and values, then added.
    function* longerWay(rows: readonly unknown[], limits: { maxRows: number; maxBytes: number }) {
      const builders = new Map<string, BatchFileBuilder>();
      const knownNames = new Set<string>();
      for (const [index, input] of rows.entries()) {
        const row = readRow(input, knownNames);
        if (!Array.isArray(row)) {
          const { idType } = row as BatchRow;
          const builder =
            builders.get(idType) ?? builders.set(idType, new BatchFileBuilder(idType, limits)).get(idType)!;
          let added = builder.add(row as BatchRow, index);
          if (added === "full") {
            yield builder.take();
            added = builder.add(row as BatchRow, index);
          }
          if (added === "added") continue;
        }
        yield "refused";
        return;
      }
      for (const builder of builders.values()) if (builder.rows > 0) yield builder.take();
    }
    function* usualWay(rows: readonly unknown[], limits: { maxRows: number; maxBytes: number }) {
      try {
        yield* encodeBatches(rows as ProfileUpdate[], limits);
      } catch (error) {
        if (!isTargetValidationError(error)) throw error;
        yield "refused";
      }
    }
    const withoutInput = (file: BatchFile | "refused") => (file === "refused" ? file : { ...file, input: undefined });
    // Rows mostly alike (the one-pass way takes those), keys in any order, now and then a bad value.
    const cell = fc.oneof(
      { weight: 6, arbitrary: value },
      fc.constantFrom("", "\uD800", Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1),
      fc.constantFrom(undefined, {}, [1]),
    );
    const update = fc
      .record({
        pc: fc.boolean(),
        id: key,
        names: fc.shuffledSubarray(["tier", "ltv", "a,b", "emoji🎉"]),
        cells: fc.array(cell, { minLength: 4, maxLength: 4 }),
      })
      .map(({ pc, id, names, cells }) => {
        const attributes = Object.fromEntries(names.map((name, i) => [name, cells[i]]));
        return pc ? { mboxPC: id, attributes } : { mbox3rdPartyId: id, attributes };
      });
    const limits = fc.record({ maxRows: fc.integer({ min: 1, max: 8 }), maxBytes: fc.integer({ min: 60, max: 600 }) });
    fc.assert(
      fc.property(fc.array(update, { maxLength: 40 }), limits, (rows, options) => {
        expect([...usualWay(rows, options)].map(withoutInput)).toEqual([...longerWay(rows, options)].map(withoutInput));
      }),
      { numRuns: 400 },
    );
  });

  it("round-trips through an independent reader: applying the files gives what applying the rows gives", () => {
    const limits = fc.record(
      { maxRows: fc.integer({ min: 1, max: 6 }), maxBytes: fc.integer({ min: 1100, max: 3000 }) },
      { requiredKeys: [] },
    );

    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), limits, (rows, options) => {
        // What Target holds after the rows, one after the other...
        const expected = new Map<string, Map<string, string>>();
        for (const update of rows) {
          const id = `${update.mboxPC === undefined ? "thirdPartyId" : "pcId"} ${update.mboxPC ?? update.mbox3rdPartyId}`;
          const state = expected.get(id) ?? expected.set(id, new Map()).get(id)!;
          for (const [name, cell] of Object.entries(update.attributes))
            if (cell !== null) state.set(name, String(cell));
        }
        // ...and after the files, one after the other.
        const applied = new Map<string, Map<string, string>>();
        const problems: unknown[] = [];
        for (const file of encodeAll(rows, options)) {
          const read = readFile(file);
          problems.push(...read.problems);
          if (file.rows > (options.maxRows ?? 500_000) || file.bytes > (options.maxBytes ?? 50 * 1024 * 1024 - 1))
            problems.push("too large");
          if (new Set(read.rows.map((row) => row.id)).size !== read.rows.length) problems.push("an id twice");
          for (const line of read.rows) {
            const id = `${file.idType} ${line.id}`;
            const state = applied.get(id) ?? applied.set(id, new Map()).get(id)!;
            for (const [name, cell] of line.attributes) state.set(name, cell);
          }
        }
        const sorted = (state: Map<string, Map<string, string>>) =>
          JSON.stringify([...state].map(([id, attributes]) => [id, [...attributes].sort()]).sort());
        expect(problems).toEqual([]);
        expect(sorted(applied)).toBe(sorted(expected));
      }),
      { numRuns: 100 },
    );
  });
});

describe("encodeBatches: limits", () => {
  const rows = [
    { mbox3rdPartyId: "a", attributes: { x: "1" } },
    { mbox3rdPartyId: "b", attributes: { x: "2" } },
    { mbox3rdPartyId: "c", attributes: { y: "3" } },
  ];
  const whole = "batch=thirdPartyId,x,y\na,1,\nb,2,\nc,,3";

  it("fills a file up to maxBytes exactly, a new column adding a cell to every row", () => {
    expect(bodies(rows, { maxBytes: whole.length })).toEqual([whole]);
    expect(bodies(rows, { maxBytes: whole.length - 1 })).toEqual([
      "batch=thirdPartyId,x\na,1\nb,2",
      "batch=thirdPartyId,y\nc,3",
    ]);
  });

  it("counts a merge's growth, and sends a merge that does not fit to the next file", () => {
    const merging = [
      { mbox3rdPartyId: "a", attributes: { x: "1" } },
      { mbox3rdPartyId: "b", attributes: { x: "2" } },
      { mbox3rdPartyId: "a", attributes: { x: "3456", y: "7" } },
    ];
    const merged = "batch=thirdPartyId,x,y\nb,2,\na,3456,7";
    expect(bodies(merging, { maxBytes: merged.length })).toEqual([merged]);
    expect(bodies(merging, { maxBytes: merged.length - 1 })).toEqual([
      "batch=thirdPartyId,x\na,1\nb,2",
      "batch=thirdPartyId,x,y\na,3456,7",
    ]);
  });

  it("holds at most maxRows rows, a merge not counting twice", () => {
    const ids = ["a", "b", "a", "c", "d", "e"].map((id) => ({ mbox3rdPartyId: id, attributes: { x: id } }));
    expect(encodeAll(ids, { maxRows: 2 }).map((file) => file.rows)).toEqual([2, 2, 1]);
    expect(bodies(ids, { maxRows: 2 })[0]).toBe("batch=thirdPartyId,x\nb,b\na,a");
  });

  it("refuses a row too large for any file, naming the row only; files yielded before stay valid", () => {
    const canary = "SECRET-CANARY";
    const files = encodeBatches(
      [
        { mbox3rdPartyId: "a", attributes: { x: "1" } },
        { mbox3rdPartyId: "b", attributes: { x: "2" } },
        { mbox3rdPartyId: canary, attributes: { x: canary.repeat(10) } },
      ],
      { maxRows: 1, maxBytes: 40 },
    );
    expect(files.next().value).toMatchObject({ body: "batch=thirdPartyId,x\na,1" });
    const error = validationError(() => files.next());
    expect(error.issues).toEqual([
      { path: "[2]", message: expect.stringContaining("does not fit in a batch file even alone") },
    ]);
    expect(error.message).toContain("maxBytes is 40");
    expect(error.message).not.toContain(canary);
  });
});

describe("encodeBatches: padding", () => {
  const utf8 = (text: string) => encodeURIComponent(text).length;
  /** What a row stands for: its id and, per attribute, `name=value`, URL-encoded, plus a separator each. */
  const standsFor = ({ mbox3rdPartyId, mboxPC, attributes }: ProfileUpdate) =>
    1 +
    utf8(mbox3rdPartyId ?? mboxPC ?? "") +
    Object.entries(attributes)
      .filter(([, value]) => value !== null && value !== undefined)
      .reduce((sum, [name, value]) => sum + 2 + utf8(name) + utf8(String(value)), 0);
  /** Each file's bytes past its `batch=ID_TYPE` prefix, over what its input rows stand for. */
  const ratios = (rows: readonly ProfileUpdate[], options?: EncodeOptions) =>
    encodeAll(rows, options).map((file) => {
      const held = rows.filter(
        (row, index) =>
          index >= file.input!.first &&
          index <= file.input!.last &&
          ("mboxPC" in row && row.mboxPC !== undefined ? "pcId" : "thirdPartyId") === file.idType,
      );
      expect(held).toHaveLength(file.input!.rows);
      return (file.bytes - `batch=${file.idType}`.length) / held.reduce((sum, row) => sum + standsFor(row), 0);
    });

  it("a distinct attribute per visitor makes files at most 4× their input, not one file of rows × columns", () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => ({
      mbox3rdPartyId: `visitor-${i}`,
      attributes: { [`attribute-${i}`]: "x" },
    }));
    const files = encodeAll(rows);
    // Before the bound: one file of 2,000 rows × 2,000 columns, about 4 MB for 50 KB of input.
    expect(files.length).toBeGreaterThan(1);
    expect(Math.max(...ratios(rows))).toBeLessThanOrEqual(4);
    expect(files.reduce((sum, file) => sum + file.input!.rows, 0)).toBe(rows.length);
  });

  it("keeps dense rows and the usual missing cells in one file", () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => ({
      mbox3rdPartyId: `crm-${i}`,
      attributes: { tier: "gold", ltv: i, note: i % 5 === 0 ? null : "call back", city: i % 3 ? "Paris" : undefined },
    }));
    expect(encodeAll(rows)).toHaveLength(1);
  });

  it("any mix of column sets, merges and id types: every file at most 4× what its rows stand for (property)", () => {
    const names = fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `n${i}`), "é", "a b");
    const row = fc.record({
      id: fc.integer({ min: 0, max: 60 }),
      pc: fc.boolean(),
      attributes: fc.dictionary(names, fc.oneof(fc.constantFrom("v", "long value ".repeat(5)), fc.integer()), {
        minKeys: 1,
        maxKeys: 6,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 50 }),
        (generated, maxRows) => {
          const rows = generated.map(({ id, pc, attributes }) =>
            pc ? { mboxPC: `pc-${id}`, attributes } : { mbox3rdPartyId: `crm-${id}`, attributes },
          ) as ProfileUpdate[];
          for (const ratio of ratios(rows, { maxRows })) expect(ratio).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("encodeBatches: input rules", () => {
  const canary = "SECRET-CANARY-7";
  const good = { mbox3rdPartyId: "ok", attributes: { tier: "gold" } };
  const cases: [string, unknown, string][] = [
    ["an empty value", { mbox3rdPartyId: canary, attributes: { tier: "" } }, "[2].attributes.tier"],
    ["a NaN", { mbox3rdPartyId: canary, attributes: { ltv: Number.NaN } }, "[2].attributes.ltv"],
    ["an object value", { mbox3rdPartyId: "x", attributes: { tier: { canary } } }, "[2].attributes.tier"],
    ["a lone surrogate", { mbox3rdPartyId: "x", attributes: { tier: `${canary}\uD800` } }, "[2].attributes.tier"],
    ["a '+' in an id", { mbox3rdPartyId: `${canary}+1`, attributes: { tier: "gold" } }, "[2].mbox3rdPartyId"],
    ["a long id", { mbox3rdPartyId: canary.repeat(40), attributes: { tier: "gold" } }, "[2].mbox3rdPartyId"],
    ["an empty pcId", { mboxPC: "", attributes: { tier: canary } }, "[2].mboxPC"],
    ["both ids", { mbox3rdPartyId: canary, mboxPC: canary, attributes: { tier: "gold" } }, "[2]"],
    ["no id", { attributes: { tier: canary } }, "[2]"],
    [
      "a prefixed name",
      { mbox3rdPartyId: canary, attributes: { "profile.tier": canary } },
      '[2].attributes["profile.tier"]',
    ],
    [
      "a control character in a name",
      { mbox3rdPartyId: canary, attributes: { "a\nb": canary } },
      '[2].attributes["a\\nb"]',
    ],
    ["only null values", { mbox3rdPartyId: canary, attributes: { tier: null } }, "[2].attributes"],
    ["an unknown field", { mbox3rdPartyId: canary, attributes: { tier: canary }, extra: canary }, "[2].extra"],
    ["not an object", canary, "[2]"],
  ];

  it.each(cases)("names the row and field of %s, never the value", (_, bad, path) => {
    const files = encodeBatches([good, { ...good, mbox3rdPartyId: "ok2" }, bad, good] as ProfileUpdate[], {
      maxRows: 1,
    });
    expect(files.next().value?.body).toBe("batch=thirdPartyId,tier\nok,gold");
    const error = validationError(() => files.next());
    expect(error.issues[0]?.path).toBe(path);
    expect(error.message).not.toContain(canary);
    expect(JSON.stringify(error.issues)).not.toContain(canary);
  });

  it("rejects a bad row of an async input the same way", async () => {
    const files = encodeBatchesAsync([good, { mbox3rdPartyId: canary, attributes: { tier: "" } }]);
    await expect(files.next()).rejects.toMatchObject({
      name: "TargetValidationError",
      issues: [{ path: "[1].attributes.tier" }],
    });
  });

  it("checks rows quickly exactly as ProfileUpdateSchema does", () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: codePoint, maxLength: 4 }),
      fc.constantFrom("", "ok", "a+b", "a/b", "x".repeat(256), "x".repeat(257), "\uD83D", "\uDE00a", "🎉"),
    );
    const name = fc.oneof(
      text,
      fc.constantFrom(
        "tier",
        "profile.x",
        "x".repeat(128),
        "x".repeat(129),
        "a\u0000b",
        "\u0085",
        "__proto__",
        "constructor",
        "0",
      ),
    );
    const value = fc.oneof(
      text,
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constantFrom(null, undefined, Number.POSITIVE_INFINITY, -0),
      fc.object({ maxDepth: 0 }),
    );
    const id = fc.oneof(text, fc.constantFrom(undefined, null, 42));
    const update = fc.record(
      {
        mbox3rdPartyId: id,
        mboxPC: id,
        attributes: fc.oneof(
          fc.dictionary(name, value, { maxKeys: 4 }),
          fc.array(value, { maxLength: 2 }),
          fc.constant(null),
        ),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const knownNames = new Set<string>();
    const agree = (input: unknown) => {
      const parsed = v.safeParse(ProfileUpdateSchema, input);
      const fast = checkRowFast(input, knownNames);
      const expected = parsed.success ? parsed.output : undefined;
      const actual = fast && {
        idType: fast.idType,
        id: fast.id,
        attributes: fast.names.map((n, i) => [n, String(fast.values[i])]),
      };
      expect(actual).toEqual(expected);
    };
    fc.assert(fc.property(update, agree), { numRuns: 1000 });
    fc.assert(fc.property(fc.anything(), agree), { numRuns: 300 });
  });

  it("percent-encodes bytes exactly as encodeURIComponent does, lone surrogates included", () => {
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    const text = fc.oneof(
      fc.string({ unit: codePoint }),
      fc.string({ unit: anyUnit }),
      fc.string({ unit: "grapheme" }),
    );
    fc.assert(
      fc.property(text, (input) => {
        const bytes = new Uint8Array(9 * input.length);
        let expected: string;
        try {
          expected = encodeURIComponent(input);
        } catch {
          expect(() => percentEncodeInto(input, bytes, 0)).toThrow(URIError);
          return;
        }
        const end = percentEncodeInto(input, bytes, 0);
        expect(new TextDecoder().decode(bytes.subarray(0, end))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("encodeBatches: options", () => {
  it.each([
    ["maxRows", 0],
    ["maxRows", -1],
    ["maxRows", 1.5],
    ["maxRows", Number.NaN],
    ["maxRows", "10"],
    ["maxRows", 500_001],
    ["maxBytes", 0],
    ["maxBytes", 50 * 1024 * 1024],
    ["maxBytes", Number.POSITIVE_INFINITY],
  ])("refuses %s = %s, at the call", (option, value) => {
    const error = validationError(() => encodeBatches([], { [option]: value } as EncodeOptions));
    expect(error.issues).toEqual([
      { path: option, message: expect.stringMatching(/^must be an integer from 1 to \d+/) },
    ]);
  });

  it("refuses options that are not an object", () => {
    expect(validationError(() => encodeBatchesAsync([], null as unknown as EncodeOptions)).message).toMatch(
      /options must be an object/,
    );
  });

  it("accepts Target's own limits, and yields nothing for no rows", () => {
    expect(encodeAll([], { maxRows: 500_000, maxBytes: 50 * 1024 * 1024 - 1 })).toEqual([]);
  });
});
