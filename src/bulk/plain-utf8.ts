// Which bytes may go into a batch file as they lie: UTF-8 that TextDecoder reads back without a
// replacement character (no bad byte, overlong form or surrogate), and that holds no U+FFFD itself
// (the reading of text takes one for bad bytes, so such a row is read as text to be sure).

const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/**
 * The length (2 to 4) of the plain UTF-8 sequence at `bytes[at]` (a byte of 0x80 or more), ending
 * before `to`; 0 when it is not one.
 */
export function plainSequenceAt(bytes: Uint8Array, at: number, to: number): number {
  const byte = bytes[at]!;
  if (byte >= 0xc2 && byte <= 0xdf) return at + 1 < to && isContinuation(bytes[at + 1]) ? 2 : 0;
  if (byte >= 0xe0 && byte <= 0xef) {
    const second = bytes[at + 1]!;
    const third = bytes[at + 2]!;
    if (at + 2 >= to || !isContinuation(second) || !isContinuation(third)) return 0;
    if ((byte === 0xe0 && second < 0xa0) || (byte === 0xed && second >= 0xa0)) return 0;
    return byte === 0xef && second === 0xbf && third === 0xbd ? 0 : 3;
  }
  if (byte >= 0xf0 && byte <= 0xf4) {
    const second = bytes[at + 1]!;
    if (at + 3 >= to || !isContinuation(second) || !isContinuation(bytes[at + 2]) || !isContinuation(bytes[at + 3]))
      return 0;
    return (byte === 0xf0 && second < 0x90) || (byte === 0xf4 && second >= 0x90) ? 0 : 4;
  }
  return 0;
}
