// `target-profile emulator`: the in-memory Target emulator over HTTP on 127.0.0.1.
import { createTargetEmulator } from "target-profile/emulator";
import { parseCommand, wholeNumber } from "../args.js";
import { UsageError } from "../exit-codes.js";
import { serve } from "../serve.js";

export const EMULATOR_HELP = `Usage: target-profile emulator [--port N] [--client-code CC] [--seed ID…]

Serves the in-memory Target emulator (target-profile/emulator) over HTTP on 127.0.0.1 and prints
its base URL. Batch status URLs, and the Delivery API's edge hosts, point back at the host each call
was sent to, so clients (and proxies in front) follow them. Profiles live in memory until the emulator stops (Ctrl-C).

Options:
  --port N                  the port (default 0: a free one, printed)
  --client-code CC          the only client code it answers (default TARGET_CLIENT_CODE, else acme)
  --seed ID…                create profiles for these customer ids first (repeat, or separate with commas)
  --require-token           answer 401 unless TARGET_TOKEN is sent as the Bearer token
  --polls-until-complete N  how many status reads answer "incomplete" first (default 0)
  -h, --help                this help

To try failures:
  --fail ID…                batch rows of these customer ids fail (listed as failed in the status)
  --slow MS                 answer every batch upload MS milliseconds late

Example:
  target-profile emulator --port 8080 --seed crm-1,crm-2 &
  TARGET_BASE_URL=http://127.0.0.1:8080 TARGET_CLIENT_CODE=acme target-profile push customers.csv`;

export async function emulatorCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const { values, positionals } = parseCommand("emulator", args, {
    port: { type: "string" },
    "client-code": { type: "string" },
    seed: { type: "string", multiple: true },
    "require-token": { type: "boolean" },
    "polls-until-complete": { type: "string" },
    fail: { type: "string", multiple: true },
    slow: { type: "string" },
  });
  if (values.help) {
    console.log(EMULATOR_HELP);
    return 0;
  }
  // `--seed a b c`: the ids after --seed come as positionals.
  const seeds = [...(values.seed ?? []), ...positionals].flatMap((ids) => ids.split(",")).filter(Boolean);
  const clientCode = values["client-code"] ?? env["TARGET_CLIENT_CODE"] ?? "acme";
  const token = values["require-token"] ? env["TARGET_TOKEN"] : undefined;
  if (values["require-token"] && !token) throw new UsageError("--require-token needs the token in TARGET_TOKEN");
  const emulator = createTargetEmulator({
    clientCode,
    statusUrls: "request",
    pollsUntilComplete: wholeNumber("polls-until-complete", values["polls-until-complete"], 0, 1_000_000) ?? 0,
    ...(token ? { token } : {}),
  });
  for (const thirdPartyId of seeds) emulator.seedProfile({ thirdPartyId });
  emulator.failRows((values.fail ?? []).flatMap((ids) => ids.split(",")).filter(Boolean));
  const slow = wholeNumber("slow", values.slow, 0, 3_600_000);
  if (slow) emulator.injectFaults({ times: Number.MAX_SAFE_INTEGER, delayMs: slow, operations: ["batchUpdate"] });
  const served = await serve(emulator.fetch, {
    host: "127.0.0.1",
    port: wholeNumber("port", values.port, 0, 65_535) ?? 0,
  });
  console.log(`Target emulator for client code ${clientCode} on ${served.url}`);
  console.log(`  export TARGET_BASE_URL=${served.url} TARGET_CLIENT_CODE=${clientCode}`);
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
  });
  await served.close();
  return 0;
}
