import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdIndex } from "../../src/emulator/id-index.js";

// The emulator's index of profiles by id, held to a Map: same answers, same order, through growth.
describe("the emulator's id index, against a Map", () => {
  it("answers as a Map does after any sets", () => {
    const id = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("crm-1", "crm-2", "é", "😀", ""));
    fc.assert(
      fc.property(fc.array(fc.tuple(id, fc.integer()), { maxLength: 300 }), fc.array(id), (sets, reads) => {
        const [index, map] = [new IdIndex<number>(), new Map<string, number>()];
        for (const [key, value] of sets) {
          index.set(key, value);
          map.set(key, value);
        }
        for (const key of [...reads, ...map.keys()]) expect(index.get(key)).toBe(map.get(key));
        expect([...index.values()]).toEqual([...map.values()]);
        expect(index.size).toBe(map.size);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps 100,000 ids, and forgets them when cleared", () => {
    const index = new IdIndex<number>();
    for (let n = 0; n < 100_000; n++) index.set(`crm-${n}`, n);
    for (let n = 0; n < 100_000; n += 997) expect(index.get(`crm-${n}`)).toBe(n);
    expect(index.get("crm-100000")).toBeUndefined();
    expect(index.size).toBe(100_000);
    index.clear();
    expect(index.get("crm-1")).toBeUndefined();
    expect([...index.values()]).toEqual([]);
  });
});
