// What `push` has done, on disk, written atomically after each step, so that a run that stopped
// (killed, or Target unreachable) is continued by running the same command again.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { UsageError } from "../exit-codes.js";

/** One submitted batch file: which lines of which id type it holds, and what became of it. */
export interface SentFile {
  readonly idType: "thirdPartyId" | "pcId";
  /** First and last input line it holds. */
  readonly lines: readonly [number, number];
  /** Input rows it holds (repeated ids counted each time). */
  readonly inputRows: number;
  /** Visitor rows in the file. */
  readonly rows: number;
  readonly batchId: string;
  readonly statusUrl: string;
  /** Once followed to the end: Target's final status and counters, and the ids it listed as failed. */
  final?: {
    /** `queued`: a relay queued the rows (it follows its batches itself). */
    readonly status: "complete" | "stuck" | "incomplete" | "queued";
    readonly failedIds: readonly string[];
    readonly failedUpdates: number;
    readonly profilesNotFound: number;
  };
}

export interface PushState {
  readonly version: 1;
  /** The input it is about: a changed file is not resumed. */
  readonly input: { readonly name: string; readonly size?: number; readonly modified?: number };
  files: SentFile[];
  /** The file being submitted when the state was written last: sent, or not, before a crash. */
  inFlight: { readonly idType: SentFile["idType"]; readonly lines: readonly [number, number] } | undefined;
  /** Line ranges that were in flight when a run stopped, and were sent again. */
  sentAgain: (readonly [number, number])[];
  /** Set once every batch was followed to the end and the failed rows written. */
  complete: boolean;
  /** The counts of the run that completed it. */
  summary?: Record<string, unknown>;
}

export function loadState(path: string, input: PushState["input"]): PushState | undefined {
  if (!existsSync(path)) return undefined;
  let state: PushState;
  try {
    state = JSON.parse(readFileSync(path, "utf8")) as PushState;
  } catch {
    throw new UsageError(`${path} is not a state file target-profile can read: move it away to start over`);
  }
  if (state.version !== 1 || !Array.isArray(state.files)) {
    throw new UsageError(`${path} is not a state file target-profile can read: move it away to start over`);
  }
  const same = state.input.size === input.size && state.input.modified === input.modified;
  if (!same) {
    throw new UsageError(
      `${input.name} changed since ${path} was written: delete the state file to push it as a new file`,
    );
  }
  return state;
}

export function newState(input: PushState["input"]): PushState {
  return { version: 1, input, files: [], inFlight: undefined, sentAgain: [], complete: false };
}

/** Writes the state whole, or not at all: a temporary file renamed over the old one. */
export function saveState(path: string, state: PushState): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 1)}\n`);
  renameSync(temporary, path);
}
