// One input of `push`: a file (CSV or NDJSON, gzip-compressed or not) or standard input, read
// afresh for each pass (a check, the push, the failed rows).
import { createReadStream, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { readCsvRows, readNdjsonRows, type SourceRow } from "target-profile";
import { UsageError } from "../exit-codes.js";

export type Format = "csv" | "ndjson";

/** The notes a rejects file adds to each row; left out when that file is pushed again. */
export const NOTE_FIELDS = ["rejected:line", "rejected:field", "rejected:rule", "rejected:text"];

export interface Input {
  /** What the user named: a path, or `-`. */
  readonly name: string;
  readonly path: string | undefined;
  readonly format: Format;
  readonly gzip: boolean;
  /** The file's size and modification time, to tell a changed file on resume. */
  readonly identity: { readonly size: number; readonly modified: number } | undefined;
}

/** One read of an input: its rows, bytes read so far (of the file, compressed or not), its CSV header. */
export interface Reading {
  readonly rows: AsyncGenerator<SourceRow, void, undefined>;
  bytesRead(): number;
  header(): string | undefined;
}

const FORMATS: Record<string, Format> = { csv: "csv", ndjson: "ndjson", jsonl: "ndjson", json: "ndjson" };

export function describeInput(name: string, format: string | undefined): Input {
  const gzip = name.endsWith(".gz");
  const extension = /\.([a-z]+)(?:\.gz)?$/i.exec(name)?.[1]?.toLowerCase();
  const chosen = format ?? (name === "-" ? "csv" : extension);
  const known = chosen === undefined ? undefined : FORMATS[chosen];
  if (known === undefined) {
    throw new UsageError(
      format === undefined
        ? `cannot tell the format of ${name} from its name: use --format csv or --format ndjson`
        : "--format must be csv or ndjson",
    );
  }
  if (name === "-") return { name, path: undefined, format: known, gzip: false, identity: undefined };
  let stats;
  try {
    stats = statSync(name);
  } catch {
    throw new UsageError(`cannot read ${name}: no such file`);
  }
  if (!stats.isFile()) throw new UsageError(`${name} is not a file`);
  return { name, path: name, format: known, gzip, identity: { size: stats.size, modified: Math.round(stats.mtimeMs) } };
}

/** Whether the input can be read more than once. */
export const rereadable = (input: Input) => input.path !== undefined;

const CHUNK = 1024 * 1024;

export function openInput(input: Input): Reading {
  let header: string | undefined;
  let bytesRead = () => 0;
  let bytes: AsyncIterable<Uint8Array>;
  if (input.path !== undefined && !input.gzip) {
    const read = { bytes: 0 };
    bytes = fileChunks(input.path, read);
    bytesRead = () => read.bytes;
  } else {
    const file = input.path === undefined ? undefined : createReadStream(input.path, { highWaterMark: CHUNK });
    const raw = file ?? process.stdin;
    bytes = input.gzip ? raw.pipe(createGunzip({ chunkSize: CHUNK })) : raw;
    if (file) bytesRead = () => file.bytesRead;
  }
  const options = {
    ignore: NOTE_FIELDS,
    onHeader: (text: string) => {
      header = text;
    },
  };
  const rows = input.format === "csv" ? readCsvRows(bytes, options) : readNdjsonRows(bytes, options);
  // Standard input has no size to measure progress against: its bytes are not counted.
  return { rows, bytesRead, header: () => header };
}

/**
 * A file's bytes, read into the same buffer again and again (the row readers are done with a chunk
 * when they ask for the next). A read stream's fresh buffer for each read is garbage that piles up by
 * tens of megabytes before the collector runs, memory the process then keeps.
 */
async function* fileChunks(path: string, read: { bytes: number }): AsyncGenerator<Uint8Array, void, undefined> {
  const file = await open(path);
  try {
    const buffer = new Uint8Array(CHUNK);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) return;
      read.bytes += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
