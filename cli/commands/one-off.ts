// The one-off calls an operator makes by hand: `update`, `get`, `status`.
import { isTargetValidationError, type ProfileUpdate } from "target-profile";
import { parseCommand } from "../args.js";
import { TARGET_HELP, TARGET_OPTIONS, targetClient } from "../config.js";
import { OK, ROWS_FAILED, UsageError } from "../exit-codes.js";

type Env = Readonly<Record<string, string | undefined>>;

const ID_HELP = `  ID is a customer id (mbox3rdPartyId); with --pc it is a Target visitor id (mboxPC / tntId).`;

export const UPDATE_HELP = `Usage: target-profile update ID name=value… [options]

Sends one Single Profile Update (Target applies it to an existing profile, asynchronously).
${ID_HELP}

Options:
  --pc                 ID is a Target visitor id
  --json               print Target's answer as JSON
  -h, --help           this help
${TARGET_HELP}

Example:
  target-profile update crm-42 tier=gold ltv=1200`;

export const GET_HELP = `Usage: target-profile get ID [options]

Prints a profile as JSON (Profile Fetch); exit status 1 when Target has none.
${ID_HELP}

Options:
  --pc                 ID is a Target visitor id
  -h, --help           this help
${TARGET_HELP}

Example:
  target-profile get crm-42`;

export const STATUS_HELP = `Usage: target-profile status BATCH [options]

Prints a batch's status as JSON, with its counters and failed ids. BATCH is a batch id or a
status URL (from push's summary or state file).

Options:
  --wait               poll until the batch is complete or stuck
  -h, --help           this help
${TARGET_HELP}

Example:
  target-profile status acme-1701473848678-13029383 --wait`;

export async function updateCommand(args: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseCommand("update", args, {
    ...TARGET_OPTIONS,
    pc: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) return help(UPDATE_HELP);
  const [id, ...pairs] = positionals;
  if (!id || pairs.length === 0)
    throw new UsageError('update takes an ID and at least one name=value\nRun "target-profile update --help".');
  const attributes: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new UsageError(`"${pair.slice(0, 40)}" is not name=value`);
    attributes[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  const update = (values.pc ? { mboxPC: id, attributes } : { mbox3rdPartyId: id, attributes }) as ProfileUpdate;
  const target = targetClient(values, env);
  const result = await inputChecked(() => target.updateProfile(update));
  console.log(
    values.json ? JSON.stringify(result) : `Target accepted the update (${result.method}): ${result.message}`,
  );
  return OK;
}

export async function getCommand(args: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseCommand("get", args, { ...TARGET_OPTIONS, pc: { type: "boolean" } });
  if (values.help) return help(GET_HELP);
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError('get takes one ID\nRun "target-profile get --help".');
  const target = targetClient(values, env);
  const profile = await inputChecked(() => target.getProfile(values.pc ? { tntId: id } : { thirdPartyId: id }));
  if (profile === undefined) {
    console.error("Target has no profile for this id");
    return ROWS_FAILED;
  }
  console.log(JSON.stringify(profile, null, 2));
  return OK;
}

export async function statusCommand(args: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseCommand("status", args, { ...TARGET_OPTIONS, wait: { type: "boolean" } });
  if (values.help) return help(STATUS_HELP);
  const [batch, ...extra] = positionals;
  if (!batch || extra.length > 0)
    throw new UsageError('status takes one batch id or status URL\nRun "target-profile status --help".');
  const target = targetClient(values, env);
  const status = await inputChecked(() =>
    values.wait ? target.waitForBatch(batch) : target.getBatchStatus(batch, { details: true }),
  );
  console.log(JSON.stringify(status, null, 2));
  return status.status === "complete" && (status.failedUpdates ?? 0) === 0 ? OK : ROWS_FAILED;
}

function help(text: string): number {
  console.log(text);
  return OK;
}

/** A call whose input the core refused: a usage error naming the field and the rule. */
async function inputChecked<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTargetValidationError(error)) {
      throw new UsageError(
        error.issues.map(({ path, message }) => (path ? `${path}: ${message}` : message)).join("; "),
      );
    }
    throw error;
  }
}
