// The rows of a bulk call, checked for what they are before any is read: a clear error for a Map,
// a string, a single update or anything else that is not a sequence of updates.
import { TargetValidationError } from "../errors.js";

type AnyIterable<T> = AsyncIterable<T> | Iterable<T>;

const isObject = (input: unknown): input is object =>
  (typeof input === "object" && input !== null) || typeof input === "function";
const isIterable = (input: unknown): input is Iterable<unknown> =>
  isObject(input) && typeof (input as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
const isAsyncIterable = (input: unknown): input is AsyncIterable<unknown> =>
  isObject(input) && typeof (input as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";

/** Why `rows` is not a sequence of updates, or `undefined` when it is one. */
function wrongRows(rows: unknown, call: string): string | undefined {
  if (rows instanceof Map) return `${call} takes an iterable of updates, not a Map: pass map.values()`;
  if (typeof rows === "string") return `${call} takes an iterable of updates, not a string`;
  if (isIterable(rows) || isAsyncIterable(rows)) return undefined;
  if (isObject(rows) && ("attributes" in rows || "mbox3rdPartyId" in rows || "mboxPC" in rows)) {
    return `${call} takes an iterable of updates, not one update: wrap it in an array`;
  }
  return `${call} takes an iterable of updates (an array, a generator)${call.endsWith("Async") || call === "bulkUpdate" ? " or an async iterable" : ""}`;
}

const refuse = (message: string) => new TargetValidationError([{ path: "rows", message }]);

/** `rows` for a synchronous call. */
export function syncRows<T>(rows: Iterable<T>, call: string): Iterable<T> {
  const wrong = wrongRows(rows, call);
  if (wrong) throw refuse(wrong);
  if (!isIterable(rows)) throw refuse(`${call} takes a synchronous iterable: use ${call}Async for async inputs`);
  return rows;
}

/** `rows` for an asynchronous call: any iterable, async iterable or `ReadableStream`. */
export function anyRows<T>(rows: AnyIterable<T> | ReadableStream<T>, call: string): AnyIterable<T> {
  if (typeof ReadableStream !== "undefined" && rows instanceof ReadableStream) return streamValues(rows);
  const wrong = wrongRows(rows, call);
  if (wrong) throw refuse(wrong);
  return rows as AnyIterable<T>;
}

/** A stream's values (not every runtime makes streams async iterable yet); cancelled if left early. */
export async function* streamValues<T>(stream: ReadableStream<T>): AsyncGenerator<T, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
