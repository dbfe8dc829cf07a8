// Optional request signing (RELAY_SIGNING_SECRETS): the scheme itself, and its headers, are the relay's
// contract (src/relay/contract.ts), which the relay client signs by. Here: the secrets as keys, and a
// request whose signature does not hold refused with 401.
import { importSigningKey, signatureProblem } from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";

export function importSigningSecrets(secrets: readonly string[]): Promise<CryptoKey[]> {
  return Promise.all(secrets.map((secret) => importSigningKey(secret, "verify")));
}

/** Resolves when one signature matches one secret within the window; otherwise a 401. */
export async function verifySignature(
  request: Request,
  body: Uint8Array,
  secrets: readonly CryptoKey[],
  now = Date.now(),
): Promise<void> {
  const signed = { method: request.method, url: request.url, body };
  const problem = await signatureProblem(request.headers, signed, secrets, now);
  if (problem !== undefined) throw new RelayError(401, "invalid_signature", problem);
}
