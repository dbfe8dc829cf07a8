// `push --via-relay URL`: the rows go to a relay's POST /v1/profiles in requests of up to
// --rows-per-file ids and about 3 MB each (the relay takes 4 MB), the relay making each a batch.
import {
  checkProfileUpdate,
  type BulkBatchEvent,
  type RelayClient,
  type RelayProfileUpdate,
  type SourceRow,
  type ValidationIssue,
} from "target-profile";

const MAX_REQUEST_BYTES = 3 * 1024 * 1024;
/** How a batch id reads when the relay queued the rows instead (no Target batch to follow). */
export const QUEUED = "queued:";
// The relay's default RELAY_MAX_BATCH_ROWS.
const MAX_RELAY_ROWS = 10_000;

interface Hooks {
  readonly rowsPerFile: number;
  readonly onInvalidRow: (row: { position: number; issues: readonly ValidationIssue[]; row: unknown }) => void;
  readonly onBatch: (event: BulkBatchEvent) => void;
}

export async function pushViaRelay(relay: RelayClient, rows: AsyncIterable<SourceRow>, hooks: Hooks): Promise<void> {
  const limit = Math.min(hooks.rowsPerFile, MAX_RELAY_ROWS);
  let updates: RelayProfileUpdate[] = [];
  let bytes = 0;
  let first = 0;
  let last = 0;
  const send = async () => {
    if (updates.length === 0) return;
    const input = { rows: updates.length, first, last };
    hooks.onBatch({ stage: "submitting", batch: { rows: updates.length, bytes, idType: "thirdPartyId", input } });
    const answer = await relay.updateProfiles(updates);
    hooks.onBatch({
      stage: "submitted",
      batch: {
        batchId: answer.batchId ?? `${QUEUED}${answer.requestId}`,
        statusUrl: "",
        message: "",
        rows: answer.rows,
        bytes,
        idType: "thirdPartyId",
        input,
      },
    });
    updates = [];
    bytes = 0;
  };
  for await (const row of rows) {
    let issues = row.issues ?? checkProfileUpdate(row.update);
    if (issues.length === 0 && row.update?.mbox3rdPartyId === undefined) {
      issues = [{ path: "mboxPC", message: "the relay takes customer ids (mbox3rdPartyId) only" }];
    }
    if (issues.length > 0) {
      hooks.onInvalidRow({ position: row.line, issues, row });
      continue;
    }
    const size = JSON.stringify(row.update).length + 1;
    if (updates.length >= limit || bytes + size > MAX_REQUEST_BYTES) await send();
    if (updates.length === 0) first = row.line;
    updates.push(row.update as RelayProfileUpdate);
    bytes += size;
    last = row.line;
  }
  await send();
}
