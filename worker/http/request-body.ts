import { RelayError } from "../relay-error.js";

/**
 * The request body, read chunk by chunk and abandoned as soon as it passes `maxBytes`: a missing
 * or lying `Content-Length` cannot make the relay buffer more than that.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  // A declared size over the limit is refused before reading; a smaller one is not trusted.
  if (Number(request.headers.get("content-length")) > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return new Uint8Array(0);

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const tooLarge = (maxBytes: number) =>
  new RelayError(413, "payload_too_large", `the body must be at most ${maxBytes} bytes`);

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The body as a JSON object (every route takes one). The parser's own message is dropped: it quotes the input. */
export function parseJsonBody(body: Uint8Array): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch {
    throw new RelayError(400, "invalid_json", "the body must be a JSON document in UTF-8");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new RelayError(400, "invalid_input", "the body must be a JSON object");
  }
  return json as Record<string, unknown>;
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function requireJson(request: Request): void {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new RelayError(415, "unsupported_media_type", "the body must be sent as Content-Type: application/json");
  }
}
