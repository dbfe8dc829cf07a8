// The rules the emulator checks ids and names by, on Target's documented limits (src/limits.ts), in the
// readings docs/target-api.md picks.
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from "../limits.js";

/** `mbox3rdPartyId`: at most 256 characters, no `+` or `/`. */
// Lengths are UTF-16 code units: Target's services are Java, whose String.length() counts those.
export function isValidThirdPartyId(id: string): boolean {
  return id !== "" && id.length <= MAX_ID_LENGTH && !id.includes("+") && !id.includes("/");
}

/**
 * Whether the form-encoded id `body[from, to)` is a valid `mbox3rdPartyId` as it lies, without
 * decoding it: 1 to 256 bytes, no escape (which may hide a `+` or `/`) and no `/` (a raw `+` is a space).
 * False says nothing: decode it and ask `isValidThirdPartyId`.
 */
export function isPlainValidThirdPartyId(body: Uint8Array, from: number, to: number): boolean {
  if (from === to || to - from > MAX_ID_LENGTH) return false;
  for (let at = from; at < to; at++) if (body[at] === PERCENT || body[at] === SLASH) return false;
  return true;
}

const PERCENT = 0x25;
const SLASH = 0x2f;

export function isValidAttributeName(name: string): boolean {
  return name !== "" && name.length <= MAX_NAME_LENGTH && !isReservedAttributeName(name);
}

/**
 * Our choice, not Target's documented behaviour: the names JavaScript objects treat as more than data are
 * refused as attribute names, as the client and the relay refuse them, so that a test never sees one pass
 * here that they would refuse (docs/relay.md).
 */
export const RESERVED_NAME_RULE = 'attribute names must not be "__proto__", "constructor" or "prototype"';

export function isReservedAttributeName(name: string): boolean {
  return name === "__proto__" || name === "constructor" || name === "prototype";
}
