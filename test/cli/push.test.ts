import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, run, start, startEmulator, tempFolder, type EmulatorServer } from "./support.js";

// Every test here runs the real bin (dist/cli/index.js) against `target-profile emulator`.
describe("target-profile push", { timeout: 60_000 }, () => {
  let emulator: EmulatorServer;
  const folder = tempFolder();
  const push = (args: string[], env: Record<string, string> = emulator.env, input?: string) =>
    run(["push", ...args], { cwd: folder.dir, env, ...(input !== undefined && { input }) });
  const get = async (id: string) => {
    const answer = await run(["get", id], { cwd: folder.dir, env: emulator.env });
    return answer.status === 0
      ? (JSON.parse(answer.stdout) as { profileAttributes: Record<string, { value: string }> })
      : undefined;
  };
  const attributes = async (id: string) =>
    Object.fromEntries(
      Object.entries((await get(id))?.profileAttributes ?? {}).map(([name, { value }]) => [name, value]),
    );

  beforeAll(async () => {
    emulator = await startEmulator(["--fail", "crm-fails"]);
  });
  afterAll(async () => {
    await emulator.stop();
    folder.remove();
  });

  it("pushes a CSV, writing each bad row to the rejects file with its line, field and rule (exit 1)", async () => {
    writeFileSync(
      folder.path("customers.csv"),
      'mbox3rdPartyId,tier,ltv\ncrm-1,gold,1200\ncrm-2,,30\nbad/id,silver,1\ncrm-3,"a, b",7\n,x,1\ncrm-4,gold,1,2\n',
    );
    const answer = await push(["customers.csv", "--json"]);
    expect(answer.status).toBe(1);
    const summary = JSON.parse(answer.stdout);
    expect(summary).toMatchObject({
      rowsRead: 6,
      rowsRejected: 3,
      rowsSent: 3,
      rowsFailed: 0,
      rejectsFile: "customers.csv.rejected.csv",
    });
    expect(summary.batches).toEqual([{ batchId: expect.any(String), lines: [2, 5], rows: 3, status: "complete" }]);
    expect(readFileSync(folder.path("customers.csv.rejected.csv"), "utf8")).toBe(
      "rejected:line,rejected:field,rejected:rule,mbox3rdPartyId,tier,ltv\n" +
        "4,mbox3rdPartyId,mbox3rdPartyId must not contain '+' or '/',bad/id,silver,1\n" +
        "6,mbox3rdPartyId,is empty: every row needs its id,,x,1\n" +
        "7,(row),has 4 cells where the header has 3 (a comma in a cell that is not quoted?),crm-4,gold,1,2\n",
    );
    expect(await attributes("crm-3")).toEqual({ tier: "a, b", ltv: "7" });
    expect(await attributes("crm-2")).toEqual({ ltv: "30" });
  });

  it("pushes the fixed rejects file as it is: the notes are left out (exit 0)", async () => {
    const rejects = readFileSync(folder.path("customers.csv.rejected.csv"), "utf8");
    writeFileSync(
      folder.path("fixed.csv"),
      rejects.replace("bad/id", "crm-5").replace(",,x,1", ",crm-6,x,1").replace("gold,1,2", "gold,12"),
    );
    const answer = await push(["fixed.csv", "--json"]);
    expect(JSON.parse(answer.stdout)).toMatchObject({ rowsRead: 3, rowsRejected: 0, rowsSent: 3 });
    expect(answer.status).toBe(0);
    expect(await attributes("crm-4")).toEqual({ tier: "gold", ltv: "12" });
    expect(existsSync(folder.path("fixed.csv.rejected.csv"))).toBe(false);
  });

  it("a run that already completed sends nothing", async () => {
    const answer = await push(["customers.csv"]);
    expect(answer.status).toBe(1);
    expect(answer.stdout).toContain("already pushed (nothing sent)");
  });

  it("pushes gzip-compressed NDJSON, and CSV from standard input", async () => {
    const lines = [
      '{"mbox3rdPartyId":"nd-1","attributes":{"tier":"gold"}}',
      '{"thirdPartyId":"nd-2","visits":3}',
      "{oops",
    ];
    writeFileSync(folder.path("events.ndjson.gz"), gzipSync(lines.join("\n")));
    const answer = await push(["events.ndjson.gz", "--json"]);
    expect(JSON.parse(answer.stdout)).toMatchObject({ rowsRead: 3, rowsRejected: 1, rowsSent: 2 });
    expect(await attributes("nd-2")).toEqual({ visits: "3" });
    expect(readFileSync(folder.path("events.ndjson.rejected.ndjson"), "utf8")).toBe(
      '{"rejected:line":3,"rejected:field":"(row)","rejected:rule":"is not valid JSON","rejected:text":"{oops"}\n',
    );

    const piped = await push(["-", "--json"], emulator.env, "mbox3rdPartyId,city\nin-1,Paris\n");
    expect(piped.status).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ rowsRead: 1, rowsSent: 1 });
    expect(await attributes("in-1")).toEqual({ city: "Paris" });
  });

  it("writes the rows of the ids Target reported as failed, ready to push again", async () => {
    writeFileSync(
      folder.path("some-fail.csv"),
      "mbox3rdPartyId,tier\ncrm-ok,gold\ncrm-fails,silver\ncrm-fails,bronze\n",
    );
    const answer = await push(["some-fail.csv", "--json"]);
    expect(answer.status).toBe(1);
    expect(JSON.parse(answer.stdout)).toMatchObject({ rowsFailed: 1, failedFile: "some-fail.csv.failed.csv" });
    expect(readFileSync(folder.path("some-fail.csv.failed.csv"), "utf8")).toBe(
      "mbox3rdPartyId,tier\ncrm-fails,silver\ncrm-fails,bronze\n",
    );
  });

  it("--check and --max-rejects send nothing", async () => {
    writeFileSync(folder.path("check.csv"), "mbox3rdPartyId,tier\nck-1,gold\nck-2,\n");
    const checked = await push(["check.csv", "--check"], {});
    expect(checked.status).toBe(1);
    expect(checked.stdout).toContain("checked, nothing sent");
    expect(readFileSync(folder.path("check.csv.rejected.csv"), "utf8")).toContain("3,attributes,");

    const refused = await push(["check.csv", "--max-rejects", "0"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("1 rows rejected, more than --max-rejects 0: nothing sent");
    expect(await get("ck-1")).toBeUndefined();
    expect(existsSync(folder.path("check.csv.target-profile-state.json"))).toBe(false);

    const allowed = await push(["check.csv", "--max-rejects", "1"]);
    expect(allowed.status).toBe(1);
    expect(await attributes("ck-1")).toEqual({ tier: "gold" });
  });

  it("exits 3 when Target cannot be reached, and the same command then resumes", async () => {
    writeFileSync(folder.path("later.csv"), "mbox3rdPartyId,tier\nlt-1,gold\n");
    const closed = { TARGET_BASE_URL: `http://127.0.0.1:${await closedPort()}`, TARGET_CLIENT_CODE: "acme" };
    const failed = await push(["later.csv"], closed);
    expect(failed.status).toBe(3);
    expect(failed.stderr).toContain("could not reach Target: the connection was refused");
    expect(failed.stderr).toContain("Run the same command again");
    const resumed = await push(["later.csv", "--json"]);
    expect(resumed.status).toBe(0);
    expect(await attributes("lt-1")).toEqual({ tier: "gold" });
  });

  it("refuses usage and configuration mistakes with exit 2, sending nothing", async () => {
    writeFileSync(folder.path("usage.csv"), "mbox3rdPartyId,tier\nus-1,gold\n");
    for (const [args, env, message] of [
      [["usage.csv", "--frobnicate"], emulator.env, "Unknown option '--frobnicate'"],
      [["usage.csv"], {}, "no client code"],
      [["usage.csv", "--batch-version", "3"], emulator.env, "--batch-version must be 1 or 2"],
      [
        ["usage.csv", "--rows-per-file", "500001"],
        emulator.env,
        "--rows-per-file must be a whole number from 1 to 500000",
      ],
      [["missing.csv"], emulator.env, "cannot read missing.csv"],
      [["usage.txt"], emulator.env, "cannot tell the format"],
      [["usage.csv", "--base-url", "ftp://x"], emulator.env, "the base URL"],
      [[], emulator.env, "push takes at least one FILE"],
    ] as const) {
      const answer = await push([...args], { ...env });
      expect(answer.status, args.join(" ")).toBe(2);
      expect(answer.stderr, args.join(" ")).toContain(message);
    }
    expect(await get("us-1")).toBeUndefined();
  });

  it("shows plain progress lines when not on a terminal, nothing with --quiet", async () => {
    writeFileSync(folder.path("plain.csv"), "mbox3rdPartyId,tier\npl-1,gold\n");
    const answer = await push(["plain.csv"]);
    expect(answer.stderr).toMatch(/plain\.csv: 1 row read, 0 rejected, 1 file submitted, 1 complete, [\d,]+ rows\/s/);
    const quiet = await push(["plain.csv", "--quiet"]);
    expect(quiet.stdout + quiet.stderr).toBe("");
  });
});

describe("target-profile push, stopped and run again", { timeout: 90_000 }, () => {
  it("after kill -9 mid-upload: sent files are followed, not resent, the one in flight is sent again and said so", async () => {
    // Every upload is answered 1.5 s late, so the push can be killed while one is on its way.
    const emulator = await startEmulator(["--slow", "1500"]);
    const folder = tempFolder();
    try {
      const rows = Array.from({ length: 9 }, (_, i) => `kill-${i},v${i}`).join("\n");
      writeFileSync(folder.path("big.csv"), `mbox3rdPartyId,tier\n${rows}\n`);
      const statePath = folder.path("big.csv.target-profile-state.json");
      const child = start(["push", "big.csv", "--rows-per-file", "3"], { cwd: folder.dir, env: emulator.env });
      // Wait for the second file to be on its way (the first one submitted), then kill -9.
      for (let waited = 0; ; waited += 50) {
        if (waited > 30_000) throw new Error("the push never got to its second file");
        const state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : undefined;
        if (state?.files.length === 1 && state.inFlight) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const killed = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      expect(await killed).toBe(null);
      const before = JSON.parse(readFileSync(statePath, "utf8"));
      expect(before).toMatchObject({ complete: false, inFlight: { lines: [5, 7] } });

      const again = await run(["push", "big.csv", "--rows-per-file", "3", "--json"], {
        cwd: folder.dir,
        env: emulator.env,
      });
      expect(again.status).toBe(0);
      const summary = JSON.parse(again.stdout);
      expect(summary).toMatchObject({ rowsRead: 9, rowsAlreadySent: 3, rowsSent: 9, sentAgain: [[5, 7]] });
      // The first batch is the one the killed run submitted, followed rather than resent.
      expect(summary.batches.map((batch: { lines: number[] }) => batch.lines)).toEqual([
        [2, 4],
        [5, 7],
        [8, 10],
      ]);
      expect(summary.batches[0].batchId).toBe(before.files[0].batchId);
      expect(summary.batches.every((batch: { status: string }) => batch.status === "complete")).toBe(true);
      for (let i = 0; i < 9; i++) {
        const answer = await run(["get", `kill-${i}`], { cwd: folder.dir, env: emulator.env });
        expect(JSON.parse(answer.stdout).profileAttributes.tier.value).toBe(`v${i}`);
      }
      const text = await run(["push", "big.csv", "--rows-per-file", "3"], { cwd: folder.dir, env: emulator.env });
      expect(text.stdout).toContain("already pushed (nothing sent)");
      expect(text.stdout).toContain("lines 5-7: in flight when a run stopped, so sent again (at most twice)");
    } finally {
      await emulator.stop();
      folder.remove();
    }
  });
});

describe("target-profile push on a terminal", { timeout: 60_000 }, () => {
  it("draws a live progress bar (a pseudo-terminal through script)", async () => {
    const emulator = await startEmulator();
    const folder = tempFolder();
    try {
      const rows = Array.from({ length: 20_000 }, (_, i) => `tty-${i},gold,${i}`).join("\n");
      writeFileSync(folder.path("tty.csv"), `mbox3rdPartyId,tier,ltv\n${rows}\n`);
      const command = `${process.execPath} ${BIN} push tty.csv`;
      const output = execFileSync("script", ["-qfec", command, "/dev/null"], {
        cwd: folder.dir,
        env: { ...process.env, ...emulator.env, TERM: "xterm" },
        encoding: "utf8",
      });
      // cli-progress draws the bar with block characters and redraws the line in place.
      expect(output).toMatch(
        /tty\.csv [█░]{20} \d+% \| [\d,]+ rows read, 0 rejected \| files: \d submitted, \d complete \| [\d,]+ rows\/s/,
      );
      expect(output).toContain("20,000 rows read");
      expect(output).toContain("\u001b[");
      expect(output).toContain("20,000 sent in 1 batch file");
    } finally {
      await emulator.stop();
      folder.remove();
    }
  });
});

/** A port nothing listens on (one was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
