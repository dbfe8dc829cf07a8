// The memory a batch file's bytes lie in, and how long they stay as taken: with one buffer (the
// default) the next file fills the same memory at once, so a submit must copy the body; with two,
// a streamed upload reads the body while the next file fills the other buffer.
import { describe, expect, it } from "vitest";
import type { BatchBytes, BatchFile } from "../../src/bulk/batch-file.js";
import { bulkUpdate, type BulkCalls } from "../../src/bulk/bulk-update.js";
import { BatchEncoder } from "../../src/bulk/encode-batches.js";
import { encodeBatches, type ProfileUpdate } from "../../src/index.js";

const LIMITS = { maxRows: 50, maxBytes: 100_000 };
const visitor = (i: number): ProfileUpdate => ({ mbox3rdPartyId: `crm-${i}`, attributes: { tier: `t${i}` } });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Adds visitors from `next` on until the open file is full: the file taken, and where the next starts. */
function fill(encoder: BatchEncoder, next: number): { file: BatchBytes; next: number } {
  while (encoder.add(visitor(next), next) === undefined) next++;
  return { file: encoder.takeBytes(), next };
}

describe("BatchEncoder's buffers", () => {
  it("with one, the next file fills the memory of the body taken at once", () => {
    const encoder = new BatchEncoder(LIMITS);
    const first = fill(encoder, 0);
    const taken = text(first.file.body);
    encoder.add(visitor(first.next), first.next);
    expect(text(first.file.body)).not.toBe(taken);
    expect(first.file.body.buffer).toBe(fill(encoder, first.next + 1).file.body.buffer);
  });

  it("with two, a body taken stays as it is while the next file fills, its memory filled again only after the next take", () => {
    const encoder = new BatchEncoder(LIMITS, { twoBuffers: true });
    const first = fill(encoder, 0);
    const firstText = text(first.file.body);
    const second = fill(encoder, first.next);
    expect(text(first.file.body)).toBe(firstText);
    expect(second.file.body.buffer).not.toBe(first.file.body.buffer);

    const secondText = text(second.file.body);
    const third = fill(encoder, second.next);
    expect(text(second.file.body)).toBe(secondText);
    // Two buffers in turn, never a third.
    expect(third.file.body.buffer).toBe(first.file.body.buffer);
    // The files are the ones encodeBatches makes.
    const files = [
      ...encodeBatches(
        Array.from({ length: third.next }, (_, i) => visitor(i)),
        LIMITS,
      ),
    ];
    expect([firstText, secondText, text(third.file.body)]).toEqual(files.slice(0, 3).map((file) => file.body));
  });
});

describe("bulkUpdate's uploads", () => {
  /**
   * Calls whose submit keeps the body it is given, as a streamed upload does, and reads it again
   * when it settles, after the next file was encoded meanwhile: what it read then, and what the file
   * was when submitted.
   */
  function uploads(streams: boolean) {
    const read: { submitted: string; settled: string }[] = [];
    const calls: BulkCalls = {
      streams,
      submit(file: BatchFile | BatchBytes) {
        const body = file.body as Uint8Array;
        const submitted = text(body);
        return new Promise((resolve) =>
          setTimeout(() => {
            read.push({ submitted, settled: text(body) });
            resolve({ batchId: `b${read.length}`, statusUrl: "https://example.test/status", message: "" });
          }, 5),
        );
      },
      wait: () => Promise.reject(new Error("not waited for")),
    };
    return { calls, read };
  }
  const rows = Array.from({ length: 240 }, (_, i) => visitor(i));
  const files = [...encodeBatches(rows, LIMITS)].map((file) => file.body);

  it("with calls.streams, never fill a file's buffer while it is being uploaded", async () => {
    const { calls, read } = uploads(true);
    await bulkUpdate(calls, rows, { ...LIMITS, wait: false });
    expect(read.map(({ submitted }) => submitted)).toEqual(files);
    expect(read.map(({ settled }) => settled)).toEqual(files);
  });

  it("without it, reuse the bytes at once: a submit that does not copy them would send what came next", async () => {
    const { calls, read } = uploads(false);
    await bulkUpdate(calls, rows, { ...LIMITS, wait: false });
    expect(read.map(({ submitted }) => submitted)).toEqual(files);
    expect(read[0]!.settled).not.toBe(files[0]);
  });
});
