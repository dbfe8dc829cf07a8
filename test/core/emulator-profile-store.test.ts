import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBatchBody, type BatchRows } from "../../src/emulator/batch-parsing.js";
import { createProfileStore, type AttributeRecord, type ProfileRecord } from "../../src/emulator/profile-store.js";

// The store keeps a profile's attributes as layers (a batch row is one, left in its body), merges
// them past a depth, and lets a row replace the row under it. These tests hold it to what it replaced:
// one Map of name → { value, modifiedAt } per profile, set in place, deleted and re-added at the end.

const NAMES = ["tier", "city", "ltv", "a,b", "é"];
const VALUES = ["gold", "silver", "Paris", "5", "a,b", "x&y", "50%", "São Paulo", "😀", "+1"];

type Operation =
  | { kind: "pairs"; profile: number; pairs: [string, string][] }
  | { kind: "row"; profile: number; header: string[]; cells: (string | null)[] }
  | { kind: "restore"; profile: number; name: string; from: number | null };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant("pairs" as const),
    profile: fc.nat(2),
    pairs: fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...VALUES)), { maxLength: 3 }),
  }),
  {
    arbitrary: fc.record({
      kind: fc.constant("row" as const),
      profile: fc.nat(2),
      // A few headers, so that rows often set just what the row before set.
      header: fc.constantFrom<string[]>(
        ["tier", "city"],
        ["tier", "city"],
        ["city", "tier", "ltv"],
        ["a,b", "é", "tier"],
      ),
      cells: fc.array(fc.option(fc.constantFrom(...VALUES), { freq: 4 }), { minLength: 3, maxLength: 3 }),
    }),
    weight: 3,
  },
  fc.record({
    kind: fc.constant("restore" as const),
    profile: fc.nat(2),
    name: fc.constantFrom(...NAMES),
    from: fc.option(fc.nat(), { freq: 3 }),
  }),
);

interface Modelled {
  value: string;
  modifiedAt: string;
  /** Which operation wrote it (the store numbers writes its own way: only the grouping must match). */
  token: number;
}

describe("the emulator's profile store, against a Map per profile", () => {
  it("ends with the attributes, times, order and writes a Map would hold", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(operation, fc.boolean()), { maxLength: 40 }), (operations) => {
        const store = createProfileStore(() => `tnt-${Math.random()}`);
        const records: ProfileRecord[] = [0, 1, 2].map((index) => store.create("thirdPartyId", `crm-${index}`, iso(0)));
        const model = [0, 1, 2].map(() => new Map<string, Modelled>());
        // Attributes read along the way, to be put back by a later restore: the store's and the model's.
        const snapshots: { stored: AttributeRecord | undefined; modelled: Modelled | undefined }[] = [];
        let time = 1;
        for (const [index, [op, sameTime]] of operations.entries()) {
          if (!sameTime) time++;
          const at = iso(time);
          const record = records[op.profile]!;
          const map = model[op.profile]!;
          if (op.kind === "pairs") {
            store.setAttributes(record, op.pairs, at);
            for (const [name, value] of op.pairs) map.set(name, { value, modifiedAt: at, token: index });
          } else if (op.kind === "row") {
            const { rows, start, columns, count } = batchRow(op.header, op.cells);
            store.setRow(record, rows, start, columns, count, store.newWrite(at));
            op.header.forEach((name, column) => {
              const value = op.cells[column];
              if (value !== null && value !== undefined) map.set(name, { value, modifiedAt: at, token: index });
            });
          } else {
            snapshots.push({ stored: store.attribute(record, op.name), modelled: map.get(op.name) });
            const from = op.from === null ? undefined : snapshots[op.from % snapshots.length];
            // As the consecutive-batches writer does: only a name that is there is put back.
            if (!map.has(op.name)) continue;
            store.restoreAttribute(record, op.name, from?.stored);
            if (from?.modelled === undefined) map.delete(op.name);
            else map.set(op.name, from.modelled);
          }
        }
        const tokens = new Map<number, number>();
        for (const [profile, record] of records.entries()) {
          const stored = store.attributes(record);
          const expected = [...model[profile]!];
          expect(stored.map(([name, { value, modifiedAt }]) => [name, value, modifiedAt])).toEqual(
            expected.map(([name, { value, modifiedAt }]) => [name, value, modifiedAt]),
          );
          for (const [name, attribute] of stored) expect(store.attribute(record, name)).toEqual(attribute);
          // The same write, the same operation: one to one.
          stored.forEach(([, { write }], at) => {
            const token = expected[at]![1].token;
            expect(tokens.get(write) ?? token).toBe(token);
            tokens.set(write, token);
          });
        }
        expect(new Set(tokens.values()).size).toBe(tokens.size);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a profile's layers few: a nightly row setting the same names replaces the last", () => {
    const store = createProfileStore(() => "tnt");
    const record = store.create("thirdPartyId", "crm-1", iso(0));
    for (let night = 1; night <= 30; night++) {
      const { rows, start, columns, count } = batchRow(["tier", "city"], [`t${night}`, "Paris"]);
      store.setRow(record, rows, start, columns, count, store.newWrite(iso(night)));
      expect(record.depth).toBe(1);
    }
    for (let update = 1; update <= 30; update++) {
      store.setAttributes(record, [[`name${update}`, "x"]], iso(100 + update));
      expect(record.depth).toBeLessThanOrEqual(8);
    }
    expect(store.attributes(record).map(([name]) => name)).toEqual([
      "tier",
      "city",
      ...Array.from({ length: 30 }, (_, index) => `name${index + 1}`),
    ]);
  });
});

const iso = (time: number) => new Date(Date.UTC(2026, 0, 1) + time).toISOString();

/** One row of a batch body, as the emulator parses it: where the store finds its cells. */
function batchRow(header: string[], cells: (string | null)[]) {
  const line = ["crm", ...header.map((_, column) => encodeURIComponent(cells[column] ?? ""))].join(",");
  const body = new TextEncoder().encode(`batch=thirdPartyId,${header.map(encodeURIComponent).join(",")}\n${line}`);
  const parsed = parseBatchBody(body);
  if (!parsed.ok) throw new Error(parsed.message);
  const rows: BatchRows = parsed.batch.source;
  for (const row of parsed.batch.rows()) return { rows, start: row.start, columns: row.columns, count: row.count };
  // A row of only empty cells: nothing to set.
  return { rows, start: 0, columns: new Int32Array(0), count: 0 };
}
