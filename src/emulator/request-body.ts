// A request's body, read as it arrives into one buffer: sized by its Content-Length when that is
// sent (a 50 MB batch is then copied once, piece by piece, and never regrown), shown to `received`
// after each piece, so that a batch is checked while the rest of it is still on its way.
import { MAX_BATCH_BYTES } from "../limits.js";

/** The first `length` bytes of `body` are in. */
export type Received = (body: Uint8Array, length: number) => void;

export async function readBody(request: Request, received?: Received): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  // A Content-Length past any body the emulator takes is not believed: the buffer then grows as needed.
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  let body = new Uint8Array(Number.isSafeInteger(declared) && declared <= MAX_BATCH_BYTES + 1 ? declared : 64 * 1024);
  let length = 0;
  const reader = request.body.getReader();
  for (let piece = await reader.read(); !piece.done; piece = await reader.read()) {
    const bytes = piece.value;
    if (length + bytes.length > body.length) {
      const grown = new Uint8Array(Math.max(2 * body.length, length + bytes.length));
      grown.set(body.subarray(0, length));
      body = grown;
    }
    body.set(bytes, length);
    length += bytes.length;
    received?.(body, length);
  }
  return body.subarray(0, length);
}
