// Command-line options with node:util's parseArgs, and the help each command prints.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./exit-codes.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A command's options and positionals, or a `UsageError` naming what is wrong (and where help is). */
export function parseCommand<TOptions extends Options>(command: string, args: readonly string[], options: TOptions) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${message}\nRun "target-profile ${command} --help" for the options.`);
  }
}

/** A whole number option within bounds, or a `UsageError`. */
export function wholeNumber(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return number;
}
