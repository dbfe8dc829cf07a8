// What one batch request may build: a single batch file (the route answers one batch id), of at most
// FILE_BYTES_PER_REQUEST_BYTE bytes per byte of the request. Percent-encoding makes a file at most 3 bytes
// per byte of the JSON it came from; only empty cells (rows padded to columns they lack) can take it past
// 4, so a request whose rows hold very different attribute names is refused before it grows into tens of
// megabytes (a Worker has 128 MB). The encoder bounds empty cells too (a file is at most 4 times what its
// rows stand for): rows it would put in separate files are refused the same way.
import { encodeBatches, MAX_BATCH_BYTES, type BatchFile, type RelayProfileUpdate } from "../../src/index.js";
import { RelayError } from "../relay-error.js";

/** The most bytes of batch file one byte of a batch request may become. */
export const FILE_BYTES_PER_REQUEST_BYTE = 4;

/**
 * The updates (already checked) as one batch file, repeated ids merged, of at most
 * FILE_BYTES_PER_REQUEST_BYTE × `requestBytes`; or a 413 naming the limit they break: more distinct ids
 * than `maxRows`, or so many empty cells that one file would pass its bytes. Encoding stops at the first
 * file: a request refused here never builds a second.
 */
export function oneBatchFile(
  updates: readonly RelayProfileUpdate[],
  limits: { readonly maxRows: number; readonly requestBytes: number },
): BatchFile {
  const maxBytes = Math.min(MAX_BATCH_BYTES, FILE_BYTES_PER_REQUEST_BYTE * limits.requestBytes);
  let exhausted = false;
  const rows = (function* () {
    yield* updates;
    exhausted = true;
  })();
  const files = encodeBatches(rows, { maxRows: limits.maxRows, maxBytes });
  const file = files.next().value;
  // A file yielded before the input ran out is one a row did not fit in: more would follow.
  if (file !== undefined && exhausted) return file;
  files.return();
  throw tooLarge(updates, limits.maxRows);
}

function tooLarge(updates: readonly RelayProfileUpdate[], maxRows: number): RelayError {
  const ids = new Set(updates.map((update) => update.mbox3rdPartyId)).size;
  const message =
    ids > maxRows
      ? `the updates hold ${ids} distinct mbox3rdPartyIds: send at most ${maxRows} per request`
      : "the updates need more than one batch file: their rows hold such different attribute names that one " +
        "file would be mostly empty cells; send rows with the same attribute names together, in separate requests";
  return new RelayError(413, "payload_too_large", message, { field: "updates" });
}
