import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, startEmulator, tempFolder, type EmulatorServer } from "./support.js";

describe("target-profile", { timeout: 60_000 }, () => {
  let emulator: EmulatorServer;
  const folder = tempFolder();
  const cli = (args: string[], env: Record<string, string> = emulator.env) => run(args, { cwd: folder.dir, env });

  beforeAll(async () => {
    emulator = await startEmulator(["--seed", "crm-1,crm-2"]);
  });
  afterAll(async () => {
    await emulator.stop();
    folder.remove();
  });

  it("has --help with examples for every command, and says what is unknown (exit 2)", async () => {
    for (const command of ["push", "emulator", "update", "get", "status"]) {
      const help = await cli([command, "--help"]);
      expect(help.status, command).toBe(0);
      expect(help.stdout, command).toContain(`Usage: target-profile ${command}`);
      expect(help.stdout, command).toMatch(/Examples?:\n {2}.*target-profile/);
    }
    const overview = await cli(["--help"]);
    expect(overview.stdout).toContain(
      "Exit status: 0 success; 1 rows rejected or failed; 2 usage or configuration; 3 Target unreachable",
    );
    expect((await cli([])).status).toBe(2);
    const unknown = await cli(["pusj"]);
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringContaining('unknown command "pusj"')]);
    const option = await cli(["get", "crm-1", "--verbose"]);
    expect([option.status, option.stderr]).toEqual([2, expect.stringContaining("Unknown option '--verbose'")]);
  });

  it("update, get and status: the one-off calls", async () => {
    const updated = await cli(["update", "crm-1", "tier=gold", "ltv=1200"]);
    expect(updated.status).toBe(0);
    expect(updated.stdout).toContain("Target accepted the update (GET)");
    const profile = await cli(["get", "crm-1"]);
    expect(JSON.parse(profile.stdout).profileAttributes.tier.value).toBe("gold");
    const none = await cli(["get", "nobody"]);
    expect([none.status, none.stderr]).toEqual([1, "Target has no profile for this id\n"]);
    const bad = await cli(["update", "crm-1", "tier="]);
    expect([bad.status, bad.stderr]).toEqual([
      2,
      expect.stringContaining("attributes.tier: must not be an empty string"),
    ]);

    const pushed = await run(["push", "-", "--json"], {
      cwd: folder.dir,
      env: emulator.env,
      input: "mbox3rdPartyId,a\ncrm-2,1\n",
    });
    const { batchId } = JSON.parse(pushed.stdout).batches[0];
    const status = await cli(["status", batchId]);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      batchId,
      status: "complete",
      successfulUpdates: 1,
      failedIds: [],
    });
  });

  it("exit 3 when the credentials are missing or refused, never printing the token", async () => {
    const guarded = await startEmulator(["--require-token"], { TARGET_TOKEN: "right-token" });
    try {
      writeFileSync(folder.path("guarded.csv"), "mbox3rdPartyId,a\ng-1,1\n");
      const missing = await run(["push", "guarded.csv"], { cwd: folder.dir, env: guarded.env });
      expect([missing.status, missing.stderr]).toEqual([
        3,
        expect.stringContaining("the account requires a token and none was configured"),
      ]);
      const wrong = await run(["push", "guarded.csv"], {
        cwd: folder.dir,
        env: { ...guarded.env, TARGET_TOKEN: "canary-wrong-token" },
      });
      expect([wrong.status, wrong.stderr]).toEqual([
        3,
        expect.stringContaining("the token was refused (wrong or expired)"),
      ]);
      expect(wrong.stdout + wrong.stderr).not.toContain("canary-wrong-token");
      const right = await run(["push", "guarded.csv"], {
        cwd: folder.dir,
        env: { ...guarded.env, TARGET_TOKEN: "right-token" },
      });
      expect(right.status).toBe(0);
    } finally {
      await guarded.stop();
    }
    const locked = await run(["emulator", "--require-token"], { cwd: folder.dir, env: {} });
    expect([locked.status, locked.stderr]).toEqual([
      2,
      expect.stringContaining("--require-token needs the token in TARGET_TOKEN"),
    ]);
  });
});
