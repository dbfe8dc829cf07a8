import { afterEach, describe, expect, it, vi } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import {
  buildProfileRequest,
  buildUpdateRequest,
  createTargetClient,
  encodeBatches,
  encodeBatchesAsync,
  isTargetBulkUpdateError,
  isTargetTimeoutError,
  isTargetValidationError,
  readCsvRows,
  type BulkBatchEvent,
  type BulkProgress,
  type InvalidRow,
  type ProfileUpdate,
} from "../../src/index.js";
import { failure } from "./support.js";

function setup(emulatorOptions: Parameters<typeof createTargetEmulator>[0] = {}) {
  const emulator = createTargetEmulator({ clientCode: "acme", ...emulatorOptions });
  const fetch = vi.fn(emulator.fetch);
  const target = createTargetClient({ clientCode: "acme", fetch, retry: { limit: 2, baseDelay: 1, maxDelay: 5 } });
  return { emulator, fetch, target };
}
const quickWait = { minInterval: 1, maxInterval: 5 };
const visitors = (count: number, from = 0): ProfileUpdate[] =>
  Array.from({ length: count }, (_, i) => ({ mbox3rdPartyId: `crm-${from + i}`, attributes: { tier: "gold" } }));

afterEach(() => {
  vi.useRealTimers();
});

describe("bulkUpdate: wait", () => {
  it("honours the polling options it is given (they were dropped before)", async () => {
    const { target } = setup({ pollsUntilComplete: 1_000 });
    const started = Date.now();
    const error = await failure(
      target.bulkUpdate(visitors(1), { wait: { timeout: 50, minInterval: 1, maxInterval: 5 } }),
    );
    expect(isTargetBulkUpdateError(error) && isTargetTimeoutError(error.cause)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);

    const quick = setup({ pollsUntilComplete: 3 });
    const begun = Date.now();
    const report = await quick.target.bulkUpdate(visitors(1), { wait: { minInterval: 1, maxInterval: 1 } });
    expect(report.batches[0]?.status?.status).toBe("complete");
    // The default first pause alone is 2 s.
    expect(Date.now() - begun).toBeLessThan(1_500);
  });
});

describe("unknown options", () => {
  it("are refused by every options object, naming the rule", async () => {
    const { target, fetch } = setup();
    const rows = visitors(1);
    const typos: [string, () => Promise<unknown>][] = [
      ["bulkUpdate", () => target.bulkUpdate(rows, { onProgres: () => {} } as never)],
      ["wait", () => target.bulkUpdate(rows, { wait: { minIntervall: 5 } as never })],
      ["updateProfile", () => target.updateProfile(rows[0]!, { methd: "POST" } as never)],
      ["getProfile", () => target.getProfile({ thirdPartyId: "crm-1" }, { signl: undefined } as never)],
      ["submitBatch", () => target.submitBatch("batch=thirdPartyId,a\nx,1", { versio: 1 } as never)],
      ["getBatchStatus", () => target.getBatchStatus("b-1", { detail: true } as never)],
      ["waitForBatch", () => target.waitForBatch("b-1", { timout: 5 } as never)],
      ["encodeBatches", async () => [...encodeBatches(rows, { maxRow: 5 } as never)]],
      ["encodeBatchesAsync", async () => encodeBatchesAsync(rows, { maxbytes: 5 } as never)],
      ["buildUpdateRequest", async () => buildUpdateRequest(rows[0]!, { clientCode: "acme", tokn: "t" } as never)],
      [
        "buildProfileRequest",
        async () => buildProfileRequest({ thirdPartyId: "x" }, { clientCode: "acme", baseURL: "" } as never),
      ],
    ];
    for (const [call, run] of typos) {
      const error = await failure(run());
      expect(isTargetValidationError(error), call).toBe(true);
      expect(error.message, call).toMatch(/unknown option/);
    }
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("bulkUpdate: inputs", () => {
  it("says what it expected of a Map, a string, one update or anything not iterable", async () => {
    const { target } = setup();
    const cases: [unknown, RegExp][] = [
      [new Map([["crm-1", { tier: "gold" }]]), /not a Map: pass map\.values\(\)/],
      ["crm-1", /not a string/],
      [{ mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } }, /not one update: wrap it in an array/],
      [42, /takes an iterable of updates \(an array, a generator\) or an async iterable/],
    ];
    for (const [rows, message] of cases) {
      await expect(target.bulkUpdate(rows as never)).rejects.toThrow(message);
      expect(() => [...encodeBatches(rows as never)]).toThrow(/encodeBatches takes/);
    }
  });

  it("takes an empty input, reporting it as empty", async () => {
    const { target, fetch } = setup();
    await expect(target.bulkUpdate([])).resolves.toEqual({
      rowsRead: 0,
      rowsRejected: 0,
      files: 0,
      rows: 0,
      batches: [],
      failedIds: [],
    });
    expect(fetch).not.toHaveBeenCalled();
  });

  it("takes a ReadableStream of updates", async () => {
    const { target, emulator } = setup();
    const report = await target.bulkUpdate(streamOf(visitors(3)), {
      wait: false,
    });
    expect(report.rows).toBe(3);
    expect(emulator.getProfile({ thirdPartyId: "crm-2" })?.attributes).toEqual({ tier: "gold" });
  });
});

function streamOf<T>(items: readonly T[]): ReadableStream<T> {
  return new ReadableStream({
    start(controller) {
      for (const item of items) controller.enqueue(item);
      controller.close();
    },
  });
}

describe("bulkUpdate: invalid rows", () => {
  it("stop the update by default, named by their position", async () => {
    const { target } = setup();
    const rows = [...visitors(2), { mbox3rdPartyId: "", attributes: { tier: "x" } }];
    const error = await failure(target.bulkUpdate(rows as ProfileUpdate[], { wait: false }));
    expect(isTargetBulkUpdateError(error) && isTargetValidationError(error.cause) && error.cause.issues[0]?.path).toBe(
      "[2].mbox3rdPartyId",
    );
  });

  it("are skipped and reported with onInvalidRow, each with its position and the rules it broke", async () => {
    const { target, emulator } = setup();
    const rows = [
      visitors(1)[0],
      { mbox3rdPartyId: "a/b", attributes: { tier: "gold" } },
      { mbox3rdPartyId: "crm-9", attributes: { tier: "" } },
      visitors(1, 5)[0],
    ] as ProfileUpdate[];
    const invalid: InvalidRow[] = [];
    const report = await target.bulkUpdate(rows, { wait: false, onInvalidRow: (row) => invalid.push(row) });
    expect(invalid.map(({ position, issues }) => [position, issues.map((issue) => issue.path)])).toEqual([
      [1, ["mbox3rdPartyId"]],
      [2, ["attributes.tier"]],
    ]);
    expect(invalid[0]?.row).toBe(rows[1]);
    expect(report).toMatchObject({ rowsRead: 4, rowsRejected: 2, rows: 2 });
    expect(emulator.getProfile({ thirdPartyId: "crm-5" })).toBeDefined();
  });

  it("from a row source are reported by line, with the text that was read", async () => {
    const { target } = setup();
    const csv = 'mbox3rdPartyId,tier,note\ncrm-1,gold,ok\ncrm-2,silver\n\ncrm-3,,\ncrm-4,gold,"a\nb"\ncrm-5,x,y';
    const invalid: InvalidRow[] = [];
    const report = await target.bulkUpdate(readCsvRows([csv]), {
      wait: false,
      onInvalidRow: (row) => invalid.push(row),
    });
    expect(
      invalid.map(({ position, issues, row }) => [position, issues[0]?.path, (row as { text: string }).text]),
    ).toEqual([
      [3, "", "crm-2,silver"],
      [5, "attributes", "crm-3,,"],
    ]);
    expect(report.batches.map((batch) => batch.input)).toEqual([{ rows: 3, first: 2, last: 8 }]);
    expect(report).toMatchObject({ rowsRead: 5, rowsRejected: 2, rows: 3 });
  });
});

describe("bulkUpdate: progress and checkpoints", () => {
  it("reports progress while rows are read, counting input rows, before any file closes", async () => {
    const { target } = setup();
    const events: BulkProgress[] = [];
    async function* rows() {
      for (let i = 0; i < 25_000; i++) yield { mbox3rdPartyId: `crm-${i % 20_000}`, attributes: { n: i } };
    }
    const report = await target.bulkUpdate(rows(), { wait: false, onProgress: (event) => events.push(event) });
    expect(events.filter((event) => event.filesSubmitted === 0).map((event) => event.rowsRead)).toEqual(
      expect.arrayContaining([10_000, 20_000]),
    );
    expect(events.at(-1)).toMatchObject({ rowsRead: 25_000, rowsEncoded: 20_000, filesSubmitted: 1 });
    expect(report).toMatchObject({ rowsRead: 25_000, rows: 20_000 });
  });

  it("says which positions each batch holds, and awaits onBatch before and after each step", async () => {
    const { target } = setup({ pollsUntilComplete: 0 });
    const rows = [...visitors(3), { mboxPC: "pc-1", attributes: { a: 1 } }, ...visitors(2, 3)] as ProfileUpdate[];
    const events: string[] = [];
    const report = await target.bulkUpdate(rows, {
      maxRows: 2,
      wait: quickWait,
      onBatch: async (event: BulkBatchEvent) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const { first, last } = event.batch.input;
        events.push(
          `${event.stage} ${event.batch.idType} ${first}-${last}${"batchId" in event.batch ? " with id" : ""}`,
        );
      },
    });
    expect(report.batches.map((batch) => [batch.idType, batch.input])).toEqual([
      ["thirdPartyId", { rows: 2, first: 0, last: 1 }],
      ["thirdPartyId", { rows: 2, first: 2, last: 4 }],
      ["thirdPartyId", { rows: 1, first: 5, last: 5 }],
      ["pcId", { rows: 1, first: 3, last: 3 }],
    ]);
    expect(events.slice(0, 3)).toEqual([
      "submitting thirdPartyId 0-1",
      "submitted thirdPartyId 0-1 with id",
      "submitting thirdPartyId 2-4",
    ]);
    expect(events.filter((event) => event.startsWith("finished"))).toHaveLength(4);
  });

  it("encodes the next file while one is in flight, never two at once, in order", async () => {
    const { emulator, target } = setup();
    let inFlight = 0;
    let most = 0;
    const fetch = async (request: Request) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        return await emulator.fetch(request);
      } finally {
        inFlight--;
      }
    };
    const client = createTargetClient({ clientCode: "acme", fetch });
    let read = 0;
    let readWhileFirstInFlight = 0;
    async function* rows() {
      for (let i = 0; i < 40; i++) {
        read++;
        if (inFlight > 0) readWhileFirstInFlight = read;
        await new Promise((resolve) => setTimeout(resolve, 0));
        yield { mbox3rdPartyId: `crm-${i}`, attributes: { n: i } };
      }
    }
    const report = await client.bulkUpdate(rows(), { maxRows: 10, wait: false });
    expect(report.files).toBe(4);
    expect(most).toBe(1);
    expect(readWhileFirstInFlight).toBeGreaterThan(10);
    expect(emulator.calls.map((call) => call.operation)).toEqual(Array(4).fill("batchUpdate"));
    void target;
  });
});
