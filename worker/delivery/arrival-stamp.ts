import { toHex } from "../../src/internal/index.js";

/**
 * When the relay received an update, and a unique id that breaks ties. Together they order every
 * write to a visitor's attribute: `(receivedAt, id)`, newest wins.
 *
 * The id is a UUIDv7 (RFC 9562): 48 bits of milliseconds, a 12-bit sequence that counts up within
 * the same millisecond, then random bits. Ids thus sort as they were stamped, within an isolate,
 * even in one millisecond (workerd's clock only moves on I/O): a caller's sequential writes keep
 * their order. Both clocks are kept monotonic, so a clock step back cannot reorder them either.
 */
export interface ArrivalStamp {
  readonly id: string;
  /** Unix milliseconds. */
  readonly receivedAt: number;
}

let lastMs = 0;
let sequence = 0;
const MAX_SEQUENCE = 0xfff;

export function stampArrival(now = Date.now()): ArrivalStamp {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > MAX_SEQUENCE) {
    lastMs++;
    sequence = 0;
  }
  return { id: uuidV7(lastMs, sequence), receivedAt: lastMs };
}

function uuidV7(ms: number, seq: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  for (let index = 5, rest = ms; index >= 0; index--, rest = Math.floor(rest / 256)) bytes[index] = rest % 256;
  bytes[6] = 0x70 | (seq >> 8);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
