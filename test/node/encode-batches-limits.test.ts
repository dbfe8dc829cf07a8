import { describe, expect, it } from "vitest";
import { encodeBatches, MAX_BATCH_BYTES, MAX_BATCH_ROWS } from "../../src/index.js";
import type { ProfileUpdate } from "../../src/profile-update.js";

// Target's own limits, at their exact edges, with the default options (heavy: Node only).

function* visitors(count: number): Generator<ProfileUpdate> {
  for (let i = 0; i < count; i++) yield { mbox3rdPartyId: `crm-${i}`, attributes: { tier: i % 2 ? "gold" : "silver" } };
}

/** 1,000 rows making a file of exactly `bytes` bytes: `batch=thirdPartyId,v` then `\nr000,<value>`... */
function* sized(bytes: number): Generator<ProfileUpdate> {
  const rows = 1000;
  const header = "batch=thirdPartyId,v".length;
  const perRow = "\nr000,".length;
  const values = bytes - header - rows * perRow;
  const length = Math.floor(values / rows);
  for (let i = 0; i < rows; i++) {
    const extra = i === rows - 1 ? values - length * rows : 0;
    yield { mbox3rdPartyId: `r${String(i).padStart(3, "0")}`, attributes: { v: "x".repeat(length + extra) } };
  }
}

// The few Node APIs used here (no Node types in this program).
const process = (globalThis as unknown as { process: { memoryUsage(): { arrayBuffers: number } } }).process;

describe("encodeBatches' memory", () => {
  it("grows its buffer geometrically past 1 MiB, instead of jumping to a full file's 51 MiB", () => {
    const before = process.memoryUsage().arrayBuffers;
    let during = 0;
    // About 1.5 MB of rows; the memory is read while the file is still open, before it is yielded.
    function* rows(): Generator<ProfileUpdate> {
      for (let i = 0; i < 15_000; i++) yield { mbox3rdPartyId: `crm-${i}`, attributes: { note: "x".repeat(90) } };
      during = process.memoryUsage().arrayBuffers - before;
    }
    const [file, ...none] = encodeBatches(rows());
    expect(none).toEqual([]);
    expect(file!.bytes).toBeGreaterThan(1.4 * 1024 * 1024);
    // At most 4× the text (a 4 MiB buffer, plus the smaller ones not yet collected), nowhere near 51 MiB.
    expect(during).toBeLessThan(12 * 1024 * 1024);
  });
});

// Generous: these encode 50 MB files, on machines that may be busy.
describe("encodeBatches at Target's limits", { timeout: 60_000 }, () => {
  it("puts 500,000 rows in one file, and 500,001 in two", () => {
    expect([...encodeBatches(visitors(MAX_BATCH_ROWS))].map((file) => file.rows)).toEqual([500_000]);
    expect([...encodeBatches(visitors(MAX_BATCH_ROWS + 1))].map((file) => file.rows)).toEqual([500_000, 1]);
  });

  it("fills a file to 50 MB less one byte, and no further", () => {
    expect(MAX_BATCH_BYTES).toBe(50 * 1024 * 1024 - 1);
    const [whole, ...none] = encodeBatches(sized(MAX_BATCH_BYTES));
    expect(none).toEqual([]);
    expect(whole).toMatchObject({ rows: 1000, bytes: MAX_BATCH_BYTES });
    expect(whole?.body.length).toBe(MAX_BATCH_BYTES);
    // One byte more: the last row goes to a second file (which repeats the header).
    const split = [...encodeBatches(sized(MAX_BATCH_BYTES + 1))];
    expect(split.map((file) => file.rows)).toEqual([999, 1]);
    expect(split[0]!.bytes + split[1]!.bytes).toBe(MAX_BATCH_BYTES + 1 + "batch=thirdPartyId,v".length);
  });
});
