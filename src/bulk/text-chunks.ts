// Text out of whatever a file arrives as in each runtime: a byte stream (fetch, File.stream(),
// Deno.open, Node's Readable.toWeb), any (async) iterable of bytes (a Node stream) or of strings.
import { TargetValidationError } from "../errors.js";
import { streamValues } from "./rows-input.js";

/**
 * What a row source reads: a `ReadableStream` or an (async) iterable of UTF-8 bytes or of strings.
 * Each chunk is read before the next is asked for, so a source may write each into the same memory.
 * @example
 * const input: TextInput = (await fetch(exportUrl)).body!;
 */
export type TextInput =
  ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** What replaces bytes that are not UTF-8: a text holding it was not UTF-8 (or held it, rarely). */
export const REPLACEMENT = "\uFFFD";

/** The input as strings, UTF-8 decoded across chunk boundaries (a leading BOM dropped). */
export async function* textChunks(input: TextInput, call: string): AsyncGenerator<string, void, undefined> {
  // The byte order mark is dropped here, once: some decoders (workerd's) drop one at the start of
  // every streamed chunk, a U+FEFF in the text included.
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  let atStart = true;
  const dropMark = (text: string) => {
    if (!atStart || text.length === 0) return text;
    atStart = false;
    return text.startsWith("\uFEFF") ? text.slice(1) : text;
  };
  for await (const chunk of inputChunks(input, call)) {
    const text = dropMark(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    if (text.length > 0) yield text;
  }
  const rest = dropMark(decoder.decode());
  if (rest.length > 0) yield rest;
}

/** The input's chunks as they come, bytes or strings (a stream is cancelled if left early). */
export async function* inputChunks(
  input: TextInput,
  call: string,
): AsyncGenerator<Uint8Array | string, void, undefined> {
  const chunks = typeof ReadableStream !== "undefined" && input instanceof ReadableStream ? streamValues(input) : input;
  if (
    typeof chunks !== "object" ||
    chunks === null ||
    (typeof (chunks as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== "function" &&
      typeof (chunks as Partial<Iterable<unknown>>)[Symbol.iterator] !== "function") ||
    typeof chunks === "string"
  ) {
    throw new TargetValidationError([
      { path: "input", message: `${call} reads a ReadableStream, or an (async) iterable of bytes or strings` },
    ]);
  }
  for await (const chunk of chunks as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
      throw new TargetValidationError([{ path: "input", message: `${call} reads chunks of bytes or strings` }]);
    }
    yield chunk;
  }
}
