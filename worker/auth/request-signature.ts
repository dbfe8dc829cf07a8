import { RELAY_SIGNATURE_HEADER, RELAY_TIMESTAMP_HEADER } from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";

/**
 * Optional request signing: `x-relay-signature: v1=HEX`, the HMAC-SHA256 of `TIMESTAMP.RAW_BODY`
 * with a shared secret, and `x-relay-timestamp: TIMESTAMP` (Unix seconds). It proves the body was
 * not changed on the way, and the window limits replays. Several `v1=` values may be sent
 * (comma-separated), and several secrets configured, so secrets rotate without downtime.
 */
/** How far the timestamp may be from the relay's clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^v1=([0-9a-f]{64})$/i;
const encoder = new TextEncoder();

export function importSigningSecrets(secrets: readonly string[]): Promise<CryptoKey[]> {
  return Promise.all(
    secrets.map((secret) =>
      crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]),
    ),
  );
}

/** Resolves when one signature matches one secret within the window; otherwise a 401. */
export async function verifySignature(
  request: Request,
  body: Uint8Array,
  secrets: readonly CryptoKey[],
  now = Date.now(),
): Promise<void> {
  const timestamp = request.headers.get(RELAY_TIMESTAMP_HEADER);
  const header = request.headers.get(RELAY_SIGNATURE_HEADER);
  if (timestamp === null || header === null) {
    throw invalid(`missing request signature: send ${RELAY_TIMESTAMP_HEADER} and ${RELAY_SIGNATURE_HEADER}`);
  }
  if (!TIMESTAMP.test(timestamp)) throw invalid(`${RELAY_TIMESTAMP_HEADER} must be Unix seconds`);
  if (Math.abs(now / 1000 - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) {
    throw invalid(`${RELAY_TIMESTAMP_HEADER} is more than ${SIGNATURE_WINDOW_SECONDS} seconds from the relay's clock`);
  }
  const signatures = header.split(",").map((part) => SIGNATURE.exec(part.trim())?.[1]);
  if (signatures.some((hex) => hex === undefined))
    throw invalid(`${RELAY_SIGNATURE_HEADER} must be v1=<64 hex digits>`);

  const signed = concat(encoder.encode(`${timestamp}.`), body);
  // crypto.subtle.verify compares in constant time.
  for (const hex of signatures) {
    const signature = fromHex(hex as string);
    for (const secret of secrets) {
      if (await crypto.subtle.verify("HMAC", secret, signature, signed)) return;
    }
  }
  throw invalid("the request signature does not match");
}

const invalid = (message: string) => new RelayError(401, "invalid_signature", message);

function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(head.byteLength + tail.byteLength);
  bytes.set(head);
  bytes.set(tail, head.byteLength);
  return bytes;
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from({ length: hex.length / 2 }, (_, index) => parseInt(hex.slice(2 * index, 2 * index + 2), 16));
}
