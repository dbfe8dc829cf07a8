#!/usr/bin/env node
// The `target-profile` command line: push CRM exports into Target profiles, serve the emulator, and
// make the one-off calls an operator needs. Node only; it uses the library as any user would.
import { emulatorCommand } from "./commands/emulator.js";
import { getCommand, statusCommand, updateCommand } from "./commands/one-off.js";
import { pushCommand } from "./commands/push.js";
import { exitCodeOf, OK, USAGE, UsageError } from "./exit-codes.js";

const HELP = `Usage: target-profile COMMAND [options]

Commands:
  push FILE…           send a CSV or NDJSON export to Target (resumable, with rejects and failed ids)
  emulator             serve the Target emulator on 127.0.0.1 (for tests and trials)
  update ID name=value…  one Single Profile Update
  get ID               print a profile
  status BATCH         print a batch's status

Run "target-profile COMMAND --help" for a command's options and examples.
Configuration: TARGET_CLIENT_CODE, TARGET_TOKEN, TARGET_BASE_URL (or --client-code, --base-url).
Exit status: 0 success; 1 rows rejected or failed; 2 usage or configuration; 3 Target unreachable
or credentials refused.`;

const COMMANDS: Record<string, (args: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>> = {
  push: pushCommand,
  emulator: emulatorCommand,
  update: updateCommand,
  get: getCommand,
  status: statusCommand,
};

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return command === undefined ? USAGE : OK;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"\n${HELP}`);
  return run(rest, process.env);
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(`target-profile: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = exitCodeOf(error);
  },
);
