import { describe, expect, it } from "vitest";
import { createPendingWrites } from "../../src/emulator/pending-writes.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A write of `slices` slices, recording each slice it applies. */
function slicedWrite(log: string[], name: string, slices: number) {
  return () => {
    let done = 0;
    return () => {
      log.push(`${name}${++done}`);
      return done === slices;
    };
  };
}

describe("pending writes", () => {
  it("applies a due write a slice per zero timeout, and the rest of it when something reads", async () => {
    const log: string[] = [];
    const pending = createPendingWrites(() => 0);
    pending.add(0, slicedWrite(log, "a", 3));
    expect(log).toEqual([]);
    await tick();
    expect(log).toEqual(["a1"]);
    pending.applyDue();
    expect(log).toEqual(["a1", "a2", "a3"]);
  });

  it("applies no slice while a batch arrives, and goes on once it is in", async () => {
    const log: string[] = [];
    const pending = createPendingWrites(() => 0);
    pending.add(0, slicedWrite(log, "a", 3));
    pending.hold();
    await tick();
    await tick();
    expect(log).toEqual([]);
    pending.release();
    await tick();
    expect(log).toEqual(["a1"]);
    // A read still applies everything due, held or not.
    pending.hold();
    pending.applyDue();
    expect(log).toEqual(["a1", "a2", "a3"]);
    pending.release();
  });
});
