// Profiles by id, as a Map would keep them, for the millions of ids a few batches bring. A Map's
// lookup of an id it does not hold walks a chain through its table and reads the keys' strings, a
// cache miss each; a batch making 500,000 profiles looked them up for longer than it took to read
// them. Here a lookup reads one pair of numbers, the id's hash and its place, and a string only
// when the hashes match: open addressing over a typed array, at most half full.

/** Ids to values, in the order they were first set. */
export class IdIndex<T> {
  // Pairs of numbers: an id's hash (never 0: 0 is an empty slot) and its place in `#ids` and `#values`.
  #slots = new Int32Array(2 * 1024);
  #ids: string[] = [];
  #values: T[] = [];
  // The id last looked up and not found, and its hash: a batch sets the id it just missed.
  #missed: string | undefined;
  #missedHash = 0;

  get size(): number {
    return this.#ids.length;
  }

  get(id: string): T | undefined {
    const hash = hashOf(id);
    const place = this.#place(id, hash);
    if (place >= 0) return this.#values[place];
    this.#missed = id;
    this.#missedHash = hash;
    return undefined;
  }

  /** Sets the value of `id`: a new id goes last, a known one keeps its place. */
  set(id: string, value: T): void {
    const missed = id === this.#missed;
    this.#missed = undefined;
    const hash = missed ? this.#missedHash : hashOf(id);
    const place = missed ? -1 : this.#place(id, hash);
    if (place >= 0) {
      this.#values[place] = value;
      return;
    }
    if (2 * (this.#ids.length + 1) > this.#slots.length / 2) this.#grow();
    this.#ids.push(id);
    this.#values.push(value);
    this.#fill(hash, this.#ids.length - 1);
  }

  /** Makes room for `count` more ids at once (a batch about to make that many profiles), rather than doubling the table again and again. */
  reserve(count: number): void {
    const needed = 4 * (this.#ids.length + count);
    if (needed <= this.#slots.length) return;
    let length = this.#slots.length;
    while (length < needed) length *= 2;
    this.#rehash(length);
  }

  /** The values in the order their ids were first set. */
  values(): IterableIterator<T> {
    return this.#values.values();
  }

  clear(): void {
    this.#slots = new Int32Array(2 * 1024);
    this.#ids = [];
    this.#values = [];
    this.#missed = undefined;
  }

  /** Where `id` is in `#ids`, or -1. */
  #place(id: string, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length / 2 - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const found = slots[2 * slot]!;
      if (found === 0) return -1;
      if (found === hash && this.#ids[slots[2 * slot + 1]!] === id) return slots[2 * slot + 1]!;
    }
  }

  /** Puts a place in the first empty slot from where its hash points. */
  #fill(hash: number, place: number): void {
    const slots = this.#slots;
    const mask = slots.length / 2 - 1;
    let slot = hash & mask;
    while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = hash;
    slots[2 * slot + 1] = place;
  }

  #grow(): void {
    this.#rehash(2 * this.#slots.length);
  }

  #rehash(length: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(length);
    for (let slot = 0; slot < old.length; slot += 2) if (old[slot] !== 0) this.#fill(old[slot]!, old[slot + 1]!);
  }
}

/** FNV-1a over the UTF-16 code units, mixed (MurmurHash3's finalizer) so that the low bits vary; never 0. */
function hashOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let at = 0; at < id.length; at++) hash = Math.imul(hash ^ id.charCodeAt(at), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16) || 1;
}
