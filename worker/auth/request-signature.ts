// Optional request signing (RELAY_SIGNING_SECRETS): the scheme itself, and its headers, are the relay's
// contract (src/relay/contract.ts), which the relay client signs by. Here: the secrets as keys, and a
// request whose signature does not hold refused with 401, in two steps: the headers before the body is
// read (their form, count, size and window: nothing is hashed yet), then the request itself.
import {
  importSigningKey,
  readSignature,
  signatureMatches,
  type PresentedSignature,
} from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";

export function importSigningSecrets(secrets: readonly string[]): Promise<CryptoKey[]> {
  return Promise.all(secrets.map((secret) => importSigningKey(secret, "verify")));
}

/** The request's signature headers, checked before its body is read; otherwise a 401. */
export function presentedSignature(request: Request, now = Date.now()): PresentedSignature {
  const presented = readSignature(request.headers, now);
  if (typeof presented === "string") throw invalidSignature(presented);
  return presented;
}

/** Resolves when one presented signature is the request's (method, path and query, body) under one secret; otherwise a 401. */
export async function verifySignature(
  request: Request,
  body: Uint8Array<ArrayBuffer>,
  presented: PresentedSignature,
  secrets: readonly CryptoKey[],
): Promise<void> {
  const signed = { method: request.method, url: request.url, body };
  if (!(await signatureMatches(presented, signed, secrets))) {
    throw invalidSignature("the request signature does not match");
  }
}

const invalidSignature = (message: string) => new RelayError(401, "invalid_signature", message);
