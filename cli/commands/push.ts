// `target-profile push FILE…`: a CRM or point-of-sale export into Target profiles, through the bulk
// API (or a relay), with rejects, progress, resume and the failed ids.
import { setFlagsFromString } from "node:v8";
import {
  checkProfileUpdate,
  MAX_BATCH_ROWS,
  type BulkBatchEvent,
  type SourceRow,
  type TargetClient,
} from "target-profile";
import { parseCommand, wholeNumber } from "../args.js";
import { TARGET_HELP, TARGET_OPTIONS, relayClient, targetClient } from "../config.js";
import { counted, number } from "../counted.js";
import { exitCodeOf, OK, ROWS_FAILED, UsageError } from "../exit-codes.js";
import { describeInput, openInput, rereadable, type Input } from "../push/input.js";
import { FailedFile, RejectsFile } from "../push/output-files.js";
import { createProgress, type Counts, type Progress } from "../push/progress.js";
import { pushViaRelay, QUEUED } from "../push/via-relay.js";
import { loadState, newState, saveState, type PushState, type SentFile } from "../push/state-file.js";

export const PUSH_HELP = `Usage: target-profile push FILE… [options]

Sends every row of each FILE to Target through the Bulk Profile Update API, in batch files of up
to 500,000 rows and under 50 MB, at most 50 bulk calls a minute, and follows each batch to the end.

FILE is CSV (a header row; the id column is mbox3rdPartyId or thirdPartyId for customer ids, or
mboxPC or pcId for Target visitor ids; every other column is an attribute; an empty cell is
absent) or NDJSON (one {"mbox3rdPartyId": "…", "attributes": {…}} a line, or a flat object with
the id beside the attributes), told apart by the name (.csv, .ndjson, .jsonl), gzip-compressed or
not (.gz); - reads standard input (CSV unless --format ndjson).

Bad rows never stop the run: each goes to FILE.rejected.csv (NDJSON: .rejected.ndjson) with its
line, the field and the rule, before the row as it was; fix them there and push that file (the
notes are ignored). Ids Target reports as failed go to FILE.failed.csv (.failed.ndjson), ready to
push again. FILE.target-profile-state.json records every batch sent: after a crash, or when
Target could not be reached, run the same command again to go on where it stopped.

Options:
  --format csv|ndjson    the input's format, when its name does not say
  --batch-version 1|2    2 (default) creates missing profiles; 1 only updates existing ones
  --rows-per-file N      rows per batch file (default and at most 500,000)
  --check                check every row and write the rejects; send nothing (no Target needed)
  --max-rejects N        check every row first; with more than N rejects, send nothing
  --rejects PATH         where the rejects go (one FILE only)
  --failed PATH          where the failed rows go (one FILE only)
  --state PATH           the state file (one FILE only)
  --no-wait              submit the batches but do not follow them (no failed ids then)
  --via-relay URL        send through a relay (RELAY_KEY, and RELAY_SIGNING_SECRET if it signs)
  --quiet                no progress, no summary (errors only)
  --json                 print the summary as JSON on standard output
  -h, --help             this help
${TARGET_HELP}

Exit status: 0 every row was accepted and applied; 1 some rows were rejected or failed (or the
input could not be read); 2 the command line or configuration is wrong; 3 Target could not be
reached or refused the credentials (run the same command again to resume).

Examples:
  TARGET_CLIENT_CODE=acme TARGET_TOKEN=… target-profile push customers.csv
  target-profile push --check export.ndjson.gz
  pg-export | target-profile push - --state nightly.state.json --json`;

const PUSH_OPTIONS = {
  ...TARGET_OPTIONS,
  format: { type: "string" },
  "batch-version": { type: "string" },
  "rows-per-file": { type: "string" },
  check: { type: "boolean" },
  "max-rejects": { type: "string" },
  rejects: { type: "string" },
  failed: { type: "string" },
  state: { type: "string" },
  "no-wait": { type: "boolean" },
  "via-relay": { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

// Batch files go out as the encoder's own bytes, not copied: Node's fetch (and Bun's) streams them
// with their Content-Length. Deno's would send them chunked, which Target is not known to take.
const streamUploads = !("Deno" in globalThis);

/**
 * Node's fetch parses answers with WebAssembly (undici's llhttp), which V8 compiles again, optimised,
 * at the first answer: some 30 MB for a moment, which a push would add to the two batch files it
 * holds by then. Its few small answers need nothing faster than V8's baseline compiler.
 */
function baselineWebAssembly(): void {
  setFlagsFromString("--liftoff-only");
}

interface PushSettings {
  readonly version: 1 | 2;
  readonly rowsPerFile: number;
  readonly check: boolean;
  readonly maxRejects: number | undefined;
  readonly wait: boolean;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly paths: { readonly rejects?: string; readonly failed?: string; readonly state?: string };
}

export async function pushCommand(args: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseCommand("push", args, PUSH_OPTIONS);
  if (values.help) {
    console.log(PUSH_HELP);
    return OK;
  }
  if (positionals.length === 0)
    throw new UsageError('push takes at least one FILE (or - for standard input)\nRun "target-profile push --help".');
  const single = positionals.length === 1;
  for (const option of ["rejects", "failed", "state"] as const) {
    if (values[option] !== undefined && !single) throw new UsageError(`--${option} takes one FILE only`);
  }
  const version = values["batch-version"] ?? "2";
  if (version !== "1" && version !== "2") throw new UsageError("--batch-version must be 1 or 2");
  const settings: PushSettings = {
    version: Number(version) as 1 | 2,
    rowsPerFile: wholeNumber("rows-per-file", values["rows-per-file"], 1, MAX_BATCH_ROWS) ?? MAX_BATCH_ROWS,
    check: values.check === true,
    maxRejects: wholeNumber("max-rejects", values["max-rejects"], 0, Number.MAX_SAFE_INTEGER),
    wait: values["no-wait"] !== true,
    quiet: values.quiet === true,
    json: values.json === true,
    paths: {
      ...(values.rejects !== undefined && { rejects: values.rejects }),
      ...(values.failed !== undefined && { failed: values.failed }),
      ...(values.state !== undefined && { state: values.state }),
    },
  };
  const inputs = positionals.map((name) => describeInput(name, values.format));
  if (inputs.filter((input) => input.path === undefined).length > 1)
    throw new UsageError("- (standard input) can be read once only");
  for (const input of inputs) {
    if (settings.maxRejects !== undefined && !settings.check && !rereadable(input)) {
      throw new UsageError("--max-rejects reads the input twice: it needs a file, not standard input");
    }
  }
  if (!settings.check) baselineWebAssembly();
  // Checked up front, so that a wrong configuration stops before anything is read.
  const send: Sender | undefined = settings.check
    ? undefined
    : values["via-relay"] !== undefined
      ? { kind: "relay", relay: relayClient(values["via-relay"], env) }
      : { kind: "target", target: targetClient(values, env, { timeout: 60_000, streamUploads }) };

  let status = OK;
  for (const input of inputs) {
    const summary = await pushOne(input, settings, send);
    status = Math.max(status, summary.exitCode);
    if (summary.exitCode > ROWS_FAILED) break;
  }
  return status;
}

export type Sender =
  | { readonly kind: "target"; readonly target: TargetClient }
  | { readonly kind: "relay"; readonly relay: import("target-profile").RelayClient };

/** What one input's push did: printed at the end, as text or JSON, and kept in a completed state. */
interface Summary {
  file: string;
  rowsRead: number;
  rowsRejected: number;
  rowsSent: number;
  rowsAlreadySent: number;
  rowsFailed: number;
  profilesNotFound: number;
  batches: { batchId: string; lines: readonly [number, number]; rows: number; status: string }[];
  sentAgain: (readonly [number, number])[];
  rejectsFile: string | undefined;
  failedFile: string | undefined;
  checkOnly: boolean;
  alreadyComplete: boolean;
  error: string | undefined;
  exitCode: number;
}

const defaultPath = (input: Input, what: "rejected" | "failed") =>
  `${input.path === undefined ? "stdin" : input.path.replace(/\.gz$/, "")}.${what}.${input.format === "csv" ? "csv" : "ndjson"}`;

async function pushOne(input: Input, settings: PushSettings, sender: Sender | undefined): Promise<Summary> {
  const statePath = settings.paths.state ?? `${input.path ?? "stdin"}.target-profile-state.json`;
  const rejectsPath = settings.paths.rejects ?? defaultPath(input, "rejected");
  const failedPath = settings.paths.failed ?? defaultPath(input, "failed");
  const label = input.name === "-" ? "stdin" : input.name;
  const summary: Summary = {
    file: input.name,
    rowsRead: 0,
    rowsRejected: 0,
    rowsSent: 0,
    rowsAlreadySent: 0,
    rowsFailed: 0,
    profilesNotFound: 0,
    batches: [],
    sentAgain: [],
    rejectsFile: undefined,
    failedFile: undefined,
    checkOnly: settings.check,
    alreadyComplete: false,
    error: undefined,
    exitCode: OK,
  };
  const identity = { name: input.name, ...input.identity };

  if (settings.check || settings.maxRejects !== undefined) {
    const rejects = await checkAll(input, rejectsPath, settings, label);
    summary.rowsRead = rejects.rows;
    summary.rowsRejected = rejects.count;
    summary.rejectsFile = rejects.count > 0 ? rejectsPath : undefined;
    if (settings.check || rejects.count > settings.maxRejects!) {
      if (!settings.check)
        summary.error = `${rejects.count} rows rejected, more than --max-rejects ${settings.maxRejects}: nothing sent`;
      summary.exitCode = rejects.count > 0 ? ROWS_FAILED : OK;
      return report(summary, settings);
    }
  }

  const state = loadState(statePath, identity) ?? newState(identity);
  if (state.complete && state.summary) {
    Object.assign(summary, state.summary, { alreadyComplete: true });
    return report(summary, settings);
  }
  if (state.inFlight) {
    // It may or may not have reached Target: its rows are sent again, and the summary says so.
    state.sentAgain.push(state.inFlight.lines);
    state.inFlight = undefined;
    saveState(statePath, state);
  }

  const reading = openInput(input);
  const rejects = new RejectsFile(rejectsPath, input.format, reading.header);
  const progress = createProgress(settings.quiet ? "none" : process.stderr.isTTY ? "bar" : "lines", label);
  const counts = { rowsRead: 0, rowsRejected: 0 };
  const show = () =>
    progress.show({
      ...counts,
      filesSubmitted: state.files.length,
      filesComplete: state.files.filter((file) => file.final).length,
      bytesRead: reading.bytesRead(),
      bytesTotal: input.identity?.size,
    } satisfies Counts);
  const interval = setInterval(show, 250);
  try {
    // Rows a previous run already sent (its files hold every valid row of their id type between
    // their first and last line) are read but not sent again.
    const covered = coverage(state.files);
    async function* unsent(): AsyncGenerator<SourceRow> {
      for await (const row of reading.rows) {
        counts.rowsRead++;
        if (row.update && covered(row.update, row.line)) {
          summary.rowsAlreadySent++;
          continue;
        }
        yield row;
      }
    }
    const onInvalidRow = ({
      position,
      issues,
      row,
    }: {
      position: number;
      issues: readonly import("target-profile").ValidationIssue[];
      row: unknown;
    }) => {
      counts.rowsRejected++;
      rejects.add(position, issues, (row as SourceRow).text);
    };
    const onBatch = (event: BulkBatchEvent) => {
      const { idType, input: held } = event.batch;
      if (event.stage === "submitting") {
        state.inFlight = { idType, lines: [held.first, held.last] };
      } else if (event.stage === "submitted") {
        const { batchId, statusUrl, rows } = event.batch;
        state.files.push({ idType, lines: [held.first, held.last], inputRows: held.rows, rows, batchId, statusUrl });
        state.inFlight = undefined;
      }
      saveState(statePath, state);
      show();
    };
    if (sender?.kind === "relay") {
      await pushViaRelay(sender.relay, unsent(), { rowsPerFile: settings.rowsPerFile, onInvalidRow, onBatch });
    } else if (sender) {
      // A first run has nothing to leave out: the rows go straight in (one async step less a row).
      const rows = state.files.length > 0 ? unsent() : reading.rows;
      const done = await sender.target.bulkUpdate(rows, {
        version: settings.version,
        maxRows: settings.rowsPerFile,
        // An upload of 50 MB may take minutes.
        submitTimeout: 15 * 60_000,
        wait: false,
        onInvalidRow,
        onBatch,
        onProgress: ({ rowsRead }) => {
          counts.rowsRead = Math.max(counts.rowsRead, rowsRead + summary.rowsAlreadySent);
          show();
        },
      });
      counts.rowsRead = Math.max(counts.rowsRead, done.rowsRead + summary.rowsAlreadySent);
    }
    rejects.close();
    summary.rowsRead = counts.rowsRead;
    summary.rowsRejected = counts.rowsRejected;
    summary.rejectsFile = counts.rowsRejected > 0 ? rejectsPath : undefined;

    if (settings.wait && sender) await follow(state, sender, statePath, show);
    const failedIds = new Set(state.files.flatMap((file) => file.final?.failedIds ?? []));
    if (failedIds.size > 0) {
      summary.failedFile = failedPath;
      await writeFailedRows(input, failedPath, failedIds);
    }
    describe(summary, state);
    summary.exitCode =
      summary.rowsRejected > 0 || summary.rowsFailed > 0 || summary.profilesNotFound > 0 ? ROWS_FAILED : OK;
    if (settings.wait) {
      state.complete = true;
      state.summary = { ...summary, error: undefined };
    }
    saveState(statePath, state);
  } catch (error) {
    rejects.close();
    summary.rowsRead = counts.rowsRead;
    summary.rowsRejected = counts.rowsRejected;
    describe(summary, state);
    summary.exitCode = exitCodeOf(error);
    summary.error = `${(error as Error).message}${error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ""}`;
    if (summary.exitCode === 3)
      summary.error += `\nRun the same command again to go on from where it stopped (${statePath}).`;
  } finally {
    clearInterval(interval);
    show();
    progress.stop();
  }
  return report(summary, settings);
}

/** Whether a row is in a file already sent: same id type, between that file's first and last line. */
function coverage(files: readonly SentFile[]) {
  const ranges = { thirdPartyId: [] as (readonly [number, number])[], pcId: [] as (readonly [number, number])[] };
  for (const file of files) ranges[file.idType].push(file.lines);
  if (files.length === 0) return () => false;
  return (update: object, line: number) => {
    const idType = "mboxPC" in update && update.mboxPC !== undefined ? "pcId" : "thirdPartyId";
    return ranges[idType].some(([first, last]) => line >= first && line <= last);
  };
}

/** Follows every batch not yet finished to the end, recording each outcome in the state. */
async function follow(state: PushState, sender: Sender, statePath: string, show: () => void): Promise<void> {
  for (const file of state.files) {
    if (file.final && file.final.status !== "incomplete") continue;
    if (file.batchId.startsWith(QUEUED)) {
      file.final = { status: "queued", failedIds: [], failedUpdates: 0, profilesNotFound: 0 };
      continue;
    }
    const status =
      sender.kind === "target"
        ? await sender.target.waitForBatch(
            { batchId: file.batchId, statusUrl: file.statusUrl, message: "" },
            { timeout: 6 * 3_600_000 },
          )
        : await followRelayBatch(sender.relay, file.batchId);
    file.final = {
      status: status.status,
      failedIds: status.failedIds,
      failedUpdates: status.failedUpdates ?? status.failedIds.length,
      profilesNotFound: status.profilesNotFound ?? 0,
    };
    saveState(statePath, state);
    show();
  }
}

async function followRelayBatch(relay: import("target-profile").RelayClient, batchId: string) {
  for (let pause = 2_000; ; pause = Math.min(60_000, pause * 1.5)) {
    const status = await relay.getBatch(batchId);
    if (status.status !== "incomplete") return status;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The counts the state holds, into the summary. */
function describe(summary: Summary, state: PushState): void {
  summary.rowsSent = state.files.reduce((sum, file) => sum + file.inputRows, 0);
  summary.rowsFailed = state.files.reduce((sum, file) => sum + (file.final?.failedUpdates ?? 0), 0);
  summary.profilesNotFound = state.files.reduce((sum, file) => sum + (file.final?.profilesNotFound ?? 0), 0);
  summary.batches = state.files.map((file) => ({
    batchId: file.batchId,
    lines: file.lines,
    rows: file.rows,
    status: file.final?.status ?? "submitted",
  }));
  summary.sentAgain = state.sentAgain;
}

/** One pass that checks every row and writes the rejects: for --check and --max-rejects. */
async function checkAll(input: Input, path: string, settings: PushSettings, label: string) {
  const reading = openInput(input);
  const rejects = new RejectsFile(path, input.format, reading.header);
  const progress = createProgress(settings.quiet ? "none" : process.stderr.isTTY ? "bar" : "lines", `${label} (check)`);
  let rows = 0;
  const show = () =>
    progress.show({
      rowsRead: rows,
      rowsRejected: rejects.count,
      filesSubmitted: 0,
      filesComplete: 0,
      bytesRead: reading.bytesRead(),
      bytesTotal: input.identity?.size,
    });
  const interval = setInterval(show, 250);
  try {
    for await (const row of reading.rows) {
      rows++;
      const issues = row.issues ?? checkProfileUpdate(row.update);
      if (issues.length > 0) rejects.add(row.line, issues, row.text);
    }
  } finally {
    clearInterval(interval);
    show();
    progress.stop();
    rejects.close();
  }
  return { rows, count: rejects.count };
}

/** Every input row of a failed id, as it was read: a file ready to push again. */
async function writeFailedRows(input: Input, path: string, failedIds: ReadonlySet<string>): Promise<void> {
  if (!rereadable(input)) {
    // Standard input cannot be read again: the ids alone.
    const file = new FailedFile(path, input.format === "csv" ? "mbox3rdPartyId" : undefined);
    for (const id of failedIds) file.add(input.format === "csv" ? id : JSON.stringify({ mbox3rdPartyId: id }));
    file.close();
    return;
  }
  const reading = openInput(input);
  let file: FailedFile | undefined;
  for await (const row of reading.rows) {
    const update = row.update as { mbox3rdPartyId?: string; mboxPC?: string } | undefined;
    const id = update?.mbox3rdPartyId ?? update?.mboxPC;
    if (id === undefined || !failedIds.has(id)) continue;
    file ??= new FailedFile(path, input.format === "csv" ? reading.header() : undefined);
    file.add(row.text);
  }
  file?.close();
}

/** "line 7" or "lines 2-9". */
const lineRange = ([first, last]: readonly [number, number]) =>
  first === last ? `line ${first}` : `lines ${first}-${last}`;

/** Prints the summary (unless --quiet) and answers it. */
function report(summary: Summary, settings: PushSettings): Summary {
  if (settings.json) {
    console.log(JSON.stringify(summary));
  } else if (!settings.quiet) {
    const lines = [
      summary.alreadyComplete
        ? `${summary.file}: already pushed (nothing sent); as it ended:`
        : summary.checkOnly
          ? `${summary.file}: checked, nothing sent`
          : `${summary.file}:`,
      `  ${counted(summary.rowsRead, "row")} read, ${number(summary.rowsRejected)} rejected${summary.rejectsFile ? ` (${summary.rejectsFile})` : ""}`,
    ];
    if (!summary.checkOnly) {
      lines.push(
        `  ${number(summary.rowsSent)} sent in ${counted(summary.batches.length, "batch file")}${summary.rowsAlreadySent > 0 ? ` (${number(summary.rowsAlreadySent)} of them by an earlier run)` : ""}`,
        `  ${number(summary.rowsFailed)} failed${summary.failedFile ? ` (${summary.failedFile})` : ""}${summary.profilesNotFound > 0 ? `, ${counted(summary.profilesNotFound, "profile")} not found (batch version 1 updates existing profiles only)` : ""}`,
      );
      for (const range of summary.sentAgain) {
        lines.push(`  ${lineRange(range)}: in flight when a run stopped, so sent again (at most twice)`);
      }
      for (const batch of summary.batches) {
        lines.push(
          `  batch ${batch.batchId}: ${lineRange(batch.lines)}, ${counted(batch.rows, "row")}, ${batch.status}`,
        );
      }
    }
    console.log(lines.join("\n"));
  }
  if (summary.error !== undefined) console.error(`target-profile: ${summary.error}`);
  return summary;
}
