// Strict `application/x-www-form-urlencoded` decoding, written independently of any client encoder so
// that the two check each other. URLSearchParams is not used: it silently keeps malformed `%` escapes.

const encoder = new TextEncoder();
// ignoreBOM keeps an encoded U+FEFF at the start of a value instead of dropping it.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes one form name or value: `+` is a space, `%XX` a byte, bytes are UTF-8. Throws URIError when malformed. */
export function decodeFormComponent(text: string): string {
  return decodeComponent(text, true);
}

/** Decodes a percent-encoded URL path segment: as a form component, but `+` stays literal. */
export function decodePathSegment(text: string): string {
  return decodeComponent(text, false);
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

function decodeComponent(text: string, plusIsSpace: boolean): string {
  // Fast path: most cells of a big batch hold no escape at all.
  if (!text.includes("%")) return plusIsSpace && text.includes("+") ? text.replaceAll("+", " ") : text;
  const bytes = encoder.encode(text);
  // Decode in place: the write index never passes the read index.
  let length = 0;
  for (let read = 0; read < bytes.length; read++) {
    const byte = bytes[read]!;
    if (byte === 0x25) {
      const high = hexValue(bytes[read + 1]);
      const low = hexValue(bytes[read + 2]);
      if (high < 0 || low < 0) throw new URIError("Malformed percent-encoding");
      bytes[length++] = high * 16 + low;
      read += 2;
    } else {
      bytes[length++] = plusIsSpace && byte === 0x2b ? 0x20 : byte;
    }
  }
  try {
    return decoder.decode(bytes.subarray(0, length));
  } catch {
    throw new URIError("Percent-encoding is not UTF-8");
  }
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
