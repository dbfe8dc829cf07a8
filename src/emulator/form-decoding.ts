// Strict `application/x-www-form-urlencoded` decoding, written independently of any client encoder so
// that the two check each other. URLSearchParams is not used: it silently keeps malformed `%` escapes.
// Bytes are decoded by hand, UTF-8 checked as a fatal TextDecoder checks it: a batch body holds
// millions of cells, and a TextDecoder call for each would cost more than all the rest.

const encoder = new TextEncoder();

/** Decodes one form name or value: `+` is a space, `%XX` a byte, bytes are UTF-8. Throws URIError when malformed. */
export function decodeFormComponent(text: string): string {
  return decodeText(text, true);
}

/** Decodes a percent-encoded URL path segment: as a form component, but `+` stays literal. */
export function decodePathSegment(text: string): string {
  return decodeText(text, false);
}

/** Splits a form body or query string into decoded `[name, value]` pairs, in order. Throws URIError when malformed. */
export function parseForm(text: string): Array<[name: string, value: string]> {
  const fields: Array<[string, string]> = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? "" : part.slice(equals + 1);
    fields.push([decodeFormComponent(name), decodeFormComponent(value)]);
  }
  return fields;
}

/** `decodeFormComponent` of the UTF-8 text `bytes[from, to)`. Throws URIError when malformed. */
export function decodeFormBytes(bytes: Uint8Array, from: number, to: number): string {
  // Most cells of a big batch are plain ASCII.
  let at = from;
  while (at < to && bytes[at]! < 0x80 && bytes[at] !== PERCENT && bytes[at] !== PLUS) at++;
  if (at === to) return fromCodes(bytes, from, to);
  const length = decodeUnits(bytes, from, to, true, true);
  if (length < 0) throw new URIError("Malformed percent-encoding, or not UTF-8");
  return fromCodes(units, 0, length);
}

/** Whether `decodeFormBytes` would decode `bytes[from, to)`: the same check, no string built. */
export function isFormBytesValid(bytes: Uint8Array, from: number, to: number): boolean {
  return decodeUnits(bytes, from, to, true, false) >= 0;
}

/**
 * Whether the `%` at `bytes[at]` escapes an ASCII byte (`%3A`) with both digits before `to`: such
 * an escape decodes alone, whatever surrounds it. Any other needs its whole text decoded to be checked.
 */
export function isAsciiEscape(bytes: Uint8Array, at: number, to: number): boolean {
  if (at + 2 >= to) return false;
  const high = hexValue(bytes[at + 1]!);
  return high >= 0 && high < 8 && hexValue(bytes[at + 2]!) >= 0;
}

function decodeText(text: string, plusIsSpace: boolean): string {
  // Fast path: most names and values hold no escape at all.
  if (!text.includes("%")) return plusIsSpace && text.includes("+") ? text.replaceAll("+", " ") : text;
  const bytes = encoder.encode(text);
  const length = decodeUnits(bytes, 0, bytes.length, plusIsSpace, true);
  if (length < 0) throw new URIError("Malformed percent-encoding, or not UTF-8");
  return fromCodes(units, 0, length);
}

const PERCENT = 0x25;
const PLUS = 0x2b;
const MALFORMED = -1;
// The UTF-16 units of the last decoding, reused: one text is decoded at a time, into at most as many
// units as it has bytes.
let units = new Uint16Array(256);

/**
 * Decodes `bytes[from, to)`, each `%XX` replaced by its byte (and `+` by a space), as UTF-8 into
 * `units` (when `write`): answers how many units, or `MALFORMED`. UTF-8 as the Encoding Standard's
 * decoder reads it, fatal: no stray continuation byte, overlong form, surrogate or code point past
 * U+10FFFF, and no sequence cut short.
 */
function decodeUnits(bytes: Uint8Array, from: number, to: number, plusIsSpace: boolean, write: boolean): number {
  if (write && units.length < to - from) units = new Uint16Array(Math.max(to - from, 2 * units.length));
  const out = units;
  let length = 0;
  // The code point being read, the continuation bytes it still needs, and the bounds of the next one.
  let point = 0;
  let needed = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let at = from; at < to;) {
    let byte = bytes[at]!;
    if (byte === PERCENT) {
      const high = at + 2 < to ? hexValue(bytes[at + 1]!) : -1;
      const low = at + 2 < to ? hexValue(bytes[at + 2]!) : -1;
      if (high < 0 || low < 0) return MALFORMED;
      byte = high * 16 + low;
      at += 3;
    } else {
      if (byte === PLUS && plusIsSpace) byte = 0x20;
      at++;
    }
    if (needed > 0) {
      if (byte < lower || byte > upper) return MALFORMED;
      lower = 0x80;
      upper = 0xbf;
      point = (point << 6) | (byte & 0x3f);
      if (--needed > 0) continue;
    } else if (byte < 0x80) {
      point = byte;
    } else {
      // A lead byte: how many continuation bytes follow, and the bounds of the first (Unicode, table 3-7).
      if (byte < 0xc2 || byte > 0xf4) return MALFORMED;
      needed = byte < 0xe0 ? 1 : byte < 0xf0 ? 2 : 3;
      point = byte & (0x3f >> needed);
      if (byte === 0xe0) lower = 0xa0;
      else if (byte === 0xed) upper = 0x9f;
      else if (byte === 0xf0) lower = 0x90;
      else if (byte === 0xf4) upper = 0x8f;
      continue;
    }
    if (point > 0xffff) {
      if (write) {
        out[length] = 0xd800 + ((point - 0x10000) >> 10);
        out[length + 1] = 0xdc00 + ((point - 0x10000) & 0x3ff);
      }
      length += 2;
    } else {
      if (write) out[length] = point;
      length++;
    }
  }
  return needed > 0 ? MALFORMED : length;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

// Codes per String.fromCharCode call: well under any engine's limit on arguments.
const CHUNK = 8192;

// Plain arrays of each short length, reused: String.fromCharCode.apply reads one of these more than
// twice as fast as a typed array's view, and a batch decodes a short id for every row.
const SHORT = 32;
const shortCodes = Array.from({ length: SHORT + 1 }, (_, length) => new Array<number>(length).fill(0));

/** The string of the UTF-16 codes `codes[from, to)`. */
function fromCodes(codes: Uint8Array | Uint16Array, from: number, to: number): string {
  if (to - from <= SHORT) {
    const short = shortCodes[to - from]!;
    for (let at = from; at < to; at++) short[at - from] = codes[at]!;
    return String.fromCharCode.apply(null, short);
  }
  let text = "";
  for (let at = from; at < to; at += CHUNK) {
    const chunk = codes.subarray(at, Math.min(to, at + CHUNK));
    text += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return text;
}
