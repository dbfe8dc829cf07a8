// The emulator's profiles, keyed by tnt id, with indexes for the two other ids.
//
// A profile's attributes are a stack of layers, one per write, the newest on top. A batch row is one
// layer pointing at the row where it lies in its batch's body, decoded when read: applying 500,000
// rows builds no string and no object per attribute (a Map and a record each would be most of what
// the garbage collector walks). An attribute's value is the one of the newest layer that sets it;
// names are in the order they first appear, oldest layer first, as a Map would keep them. A row
// setting the very names of the layer under it replaces that layer (a nightly export of the same
// columns), and a profile of more than `MAX_LAYERS` layers has them merged into one.
import type { BatchRows } from "./batch-parsing.js";
import { IdIndex } from "./id-index.js";
import type { ProfileSeed, StoredProfile } from "./types.js";

export type ProfileIdKind = "thirdPartyId" | "tntId" | "marketingCloudVisitorId";

/** One attribute as stored: its value, when it was set, and the write that set it (writes are numbered). */
export interface AttributeRecord {
  readonly value: string;
  readonly modifiedAt: string;
  readonly write: number;
}

export interface ProfileRecord {
  readonly tntId: string;
  thirdPartyId: string | undefined;
  marketingCloudVisitorId: string | undefined;
  modifiedAt: string;
  /** Its newest layer of attributes (-1: none), and how many: read attributes through the store. */
  top: number;
  depth: number;
}

export interface ProfileStore {
  find(kind: ProfileIdKind, id: string): ProfileRecord | undefined;
  /** Creates a profile known by one id; the tnt id is generated unless that id is the tnt id. */
  create(kind: "thirdPartyId" | "tntId", id: string, at: string): ProfileRecord;
  /** Sets each attribute (later pairs win), as one write; the caller leaves out empty values. */
  setAttributes(record: ProfileRecord, attributes: Iterable<readonly [string, string]>, at: string): void;
  /**
   * Makes room for a batch about to set `rows` rows, making up to `profiles` profiles known by
   * `kind`: the tables then grow once, not by doubling row after row.
   */
  reserve(kind: "thirdPartyId" | "tntId", profiles: number, rows: number): void;
  /** A write made at `at`, for `setRow`: the rows of one batch are one write. */
  newWrite(at: string): number;
  /**
   * Sets the non-empty cells of the row starting at `start` in `rows` (their `count` columns, in
   * order, in `columns`), as part of `write`. The row is read again, and its cells decoded, when read.
   */
  setRow(
    record: ProfileRecord,
    rows: BatchRows,
    start: number,
    columns: Int32Array,
    count: number,
    write: number,
  ): void;
  /** The attribute as it is now. */
  attribute(record: ProfileRecord, name: string): AttributeRecord | undefined;
  /** Puts back an attribute as it was (`undefined`: removes it); it keeps its place if it has one. */
  restoreAttribute(record: ProfileRecord, name: string, attribute: AttributeRecord | undefined): void;
  /** Every attribute of a profile, in order. */
  attributes(record: ProfileRecord): Array<[name: string, attribute: AttributeRecord]>;
  seed(seed: ProfileSeed, at: string): void;
  records(): IterableIterator<ProfileRecord>;
  clear(): void;
}

const ID_KINDS: readonly ProfileIdKind[] = ["tntId", "thirdPartyId", "marketingCloudVisitorId"];

/** Profiles keyed by tnt id, with indexes for the two other ids. */
export function createProfileStore(newTntId: () => string): ProfileStore {
  const indexes: Record<ProfileIdKind, IdIndex<ProfileRecord>> = {
    tntId: new IdIndex(),
    thirdPartyId: new IdIndex(),
    marketingCloudVisitorId: new IdIndex(),
  };
  // Profiles not yet in the tnt id index, in the order they were made: a batch making 500,000
  // profiles fills one index, not two; the other is filled, in the same order, when first read.
  let unindexed: ProfileRecord[] = [];
  let layers = new Layers();

  /**
   * A profile with no attributes yet, every field set at once (one shape, one allocation). One made
   * without a tnt id gets it when it is first read (its time is then the read's): a batch making
   * 500,000 profiles makes no string for ids nobody reads.
   */
  class Profile implements ProfileRecord {
    #tntId: string | undefined;
    marketingCloudVisitorId: string | undefined = undefined;
    top = -1;
    depth = 0;

    constructor(
      tntId: string | undefined,
      public thirdPartyId: string | undefined,
      public modifiedAt: string,
    ) {
      this.#tntId = tntId;
    }

    get tntId(): string {
      return (this.#tntId ??= newTntId());
    }
  }

  function add(record: ProfileRecord): ProfileRecord {
    unindexed.push(record);
    // Not the tnt id: it may not be made yet.
    // Nor the marketing cloud visitor id: a new profile has none yet (seed indexes it when it sets it).
    if (record.thirdPartyId !== undefined) indexes.thirdPartyId.set(record.thirdPartyId, record);
    return record;
  }

  function index(kind: ProfileIdKind): IdIndex<ProfileRecord> {
    if (kind === "tntId" && unindexed.length > 0) {
      indexes.tntId.reserve(unindexed.length);
      for (const record of unindexed) indexes.tntId.set(record.tntId, record);
      unindexed = [];
    }
    return indexes[kind];
  }

  const store: ProfileStore = {
    find: (kind, id) => index(kind).get(id),

    create(kind, id, at) {
      return add(kind === "tntId" ? new Profile(id, undefined, at) : new Profile(undefined, id, at));
    },

    setAttributes(record, attributes, at) {
      const pairs = new Pairs();
      const [write, time] = [layers.newWrite(), Date.parse(at)];
      for (const [name, value] of attributes) pairs.set(name, value, write, time);
      if (pairs.names.length === 0) return;
      layers.push(record, pairs, -1, write);
      record.modifiedAt = at;
    },

    reserve(kind, profiles, rows) {
      // A profile made by its tnt id is indexed by it when first read, which reserves room then.
      if (kind === "thirdPartyId") indexes.thirdPartyId.reserve(profiles);
      layers.reserve(rows);
    },

    newWrite: (at) => layers.newWrite(at),

    setRow(record, rows, start, columns, count, write) {
      if (count === 0) return;
      layers.pushRow(record, rows, start, columns, count, write);
      record.modifiedAt = layers.rowTime(write).at;
    },

    attribute: (record, name) => layers.attribute(record, name),

    restoreAttribute(record, name, attribute) {
      const pairs = new Pairs();
      if (attribute === undefined) pairs.set(name, undefined, 0, 0);
      else pairs.set(name, attribute.value, attribute.write, Date.parse(attribute.modifiedAt));
      layers.push(record, pairs, -1, layers.newWrite());
    },

    attributes: (record) => [...layers.merged(record)].map(([name, attribute]) => [name, layers.record(attribute)]),

    seed(seed, at) {
      const matches = new Set(
        ID_KINDS.map((kind) => (seed[kind] !== undefined ? index(kind).get(seed[kind]) : undefined)),
      );
      matches.delete(undefined);
      if (matches.size > 1) throw new TypeError("seedProfile: the ids belong to different profiles");
      let record = [...matches][0];
      if (record === undefined) {
        record = add(new Profile(seed.tntId, undefined, at));
      }
      for (const kind of ID_KINDS) {
        const id = seed[kind];
        if (id === undefined || record[kind] === id) continue;
        if (kind === "tntId" || record[kind] !== undefined) {
          throw new TypeError(`seedProfile: the profile already has another ${kind}`);
        }
        record[kind] = id;
        indexes[kind].set(id, record);
      }
      store.setAttributes(record, Object.entries(seed.attributes ?? {}), at);
      record.modifiedAt = at;
    },

    records: () => index("tntId").values(),

    clear() {
      for (const kind of ID_KINDS) indexes[kind].clear();
      unindexed = [];
      layers = new Layers();
    },
  };
  return store;
}

/** A detached copy, so callers cannot change the store by accident. */
export function toStoredProfile(store: ProfileStore, record: ProfileRecord): StoredProfile {
  const profile: StoredProfile = {
    tntId: record.tntId,
    attributes: Object.fromEntries(store.attributes(record).map(([name, { value }]) => [name, value])),
    modifiedAt: record.modifiedAt,
  };
  if (record.thirdPartyId !== undefined) profile.thirdPartyId = record.thirdPartyId;
  if (record.marketingCloudVisitorId !== undefined) profile.marketingCloudVisitorId = record.marketingCloudVisitorId;
  return profile;
}

/** Past this many layers, a profile's layers are merged into one (reads stay short, old bodies go). */
const MAX_LAYERS = 8;

/** An attribute as a layer has it: `value` undefined when the layer removes it. */
interface Attribute {
  value: string | undefined;
  write: number;
  /** Epoch ms. */
  time: number;
}

/** A layer of attributes given as values (not rows of a body): names in order, each set once. */
class Pairs {
  readonly names: string[] = [];
  readonly attributes: Attribute[] = [];

  set(name: string, value: string | undefined, write: number, time: number): void {
    const at = this.names.indexOf(name);
    if (at >= 0) this.attributes[at] = { value, write, time };
    else {
      this.names.push(name);
      this.attributes.push({ value, write, time });
    }
  }

  get(name: string): Attribute | undefined {
    const at = this.names.indexOf(name);
    return at < 0 ? undefined : this.attributes[at];
  }
}

// A layer's numbers: the layer under it (-1: none), its source (a body's rows or `Pairs`), where its
// row starts in a body (-1 for pairs), and its write.
const BELOW = 0;
const SOURCE = 1;
const ROW = 2;
const WRITE = 3;
const FIELDS = 4;

/**
 * Every layer of every profile, as numbers in one typed array (no object per layer); the sources
 * they read (batches' rows, pairs) in a table, each counted by the layers reading it and let go
 * when none is left; and each write's time.
 */
class Layers {
  #fields = new Int32Array(FIELDS * 1024);
  #count = 0;
  // Layers removed, for reuse: linked through BELOW.
  #free = -1;
  readonly #sources: (BatchRows | Pairs | undefined)[] = [];
  readonly #uses: number[] = [];
  readonly #unused: number[] = [];
  // The source of the rows last pushed: a batch's rows share it.
  #lastRows: { rows: BatchRows; id: number } | undefined;
  // Writes are numbered; those of rows (a batch's) keep their time here, pairs keep theirs themselves.
  #writes = 0;
  readonly #rowTimes = new Map<number, { at: string; ms: number }>();
  // Scratch for comparing a row with the one under it.
  #valued = new Int32Array(64);

  /** A new write; with `at`, the time of the rows it sets. */
  newWrite(at?: string): number {
    const write = ++this.#writes;
    if (at !== undefined) this.#rowTimes.set(write, { at, ms: Date.parse(at) });
    return write;
  }

  rowTime(write: number): { at: string; ms: number } {
    return this.#rowTimes.get(write)!;
  }

  push(record: ProfileRecord, source: BatchRows | Pairs, row: number, write: number): void {
    const id = this.#unused.pop() ?? this.#sources.length;
    this.#sources[id] = source;
    this.#uses[id] = 0;
    this.#pushLayer(record, id, row, write);
  }

  pushRow(record: ProfileRecord, rows: BatchRows, start: number, columns: Int32Array, count: number, write: number) {
    if (this.#lastRows?.rows !== rows || this.#sources[this.#lastRows.id] !== rows) {
      const id = this.#unused.pop() ?? this.#sources.length;
      this.#sources[id] = rows;
      this.#uses[id] = 0;
      this.#lastRows = { rows, id };
    }
    const source = this.#lastRows.id;
    const top = record.top;
    if (top >= 0 && this.#sameNames(top, rows, columns, count)) {
      // The row sets just what the layer under it set: that layer can never show through again.
      this.#uses[source]!++;
      this.#release(this.#fields[top * FIELDS + SOURCE]!);
      this.#fields[top * FIELDS + SOURCE] = source;
      this.#fields[top * FIELDS + ROW] = start;
      this.#fields[top * FIELDS + WRITE] = write;
      return;
    }
    this.#pushLayer(record, source, start, write);
  }

  /** The newest value of `name` in the profile. */
  attribute(record: ProfileRecord, name: string): AttributeRecord | undefined {
    for (let layer = record.top; layer >= 0; layer = this.#fields[layer * FIELDS + BELOW]!) {
      const found = this.#read(layer, name);
      if (found !== undefined) return found.value === undefined ? undefined : this.record(found);
    }
    return undefined;
  }

  /** Every attribute of the profile, as its layers leave it, in order. */
  merged(record: ProfileRecord): Map<string, Attribute> {
    const stack: number[] = [];
    for (let layer = record.top; layer >= 0; layer = this.#fields[layer * FIELDS + BELOW]!) stack.push(layer);
    const merged = new Map<string, Attribute>();
    for (const layer of stack.reverse()) {
      for (const [name, attribute] of this.#entries(layer)) {
        if (attribute.value === undefined) merged.delete(name);
        else merged.set(name, attribute);
      }
    }
    return merged;
  }

  record({ value, write, time }: Attribute): AttributeRecord {
    return { value: value!, modifiedAt: new Date(time).toISOString(), write };
  }

  #pushLayer(record: ProfileRecord, source: number, row: number, write: number): void {
    const layer = this.#newLayer();
    const base = layer * FIELDS;
    this.#fields[base + BELOW] = record.top;
    this.#fields[base + SOURCE] = source;
    this.#fields[base + ROW] = row;
    this.#fields[base + WRITE] = write;
    this.#uses[source]!++;
    record.top = layer;
    if (++record.depth > MAX_LAYERS) this.#flatten(record);
  }

  /** Merges the profile's layers into one of pairs. */
  #flatten(record: ProfileRecord): void {
    const pairs = new Pairs();
    for (const [name, attribute] of this.merged(record))
      pairs.set(name, attribute.value, attribute.write, attribute.time);
    for (let layer = record.top; layer >= 0;) {
      const below = this.#fields[layer * FIELDS + BELOW]!;
      this.#release(this.#fields[layer * FIELDS + SOURCE]!);
      this.#fields[layer * FIELDS + BELOW] = this.#free;
      this.#free = layer;
      layer = below;
    }
    [record.top, record.depth] = [-1, 0];
    if (pairs.names.length > 0) this.push(record, pairs, -1, 0);
  }

  /** What `layer` says of `name`: undefined when it does not set it. */
  #read(layer: number, name: string): Attribute | undefined {
    const source = this.#sources[this.#fields[layer * FIELDS + SOURCE]!]!;
    if (source instanceof Pairs) return source.get(name);
    const column = source.columns.indexOf(name, 1);
    if (column < 0) return undefined;
    const value = source.value(this.#fields[layer * FIELDS + ROW]!, column);
    if (value === "") return undefined;
    const write = this.#fields[layer * FIELDS + WRITE]!;
    return { value, write, time: this.rowTime(write).ms };
  }

  /** Everything `layer` sets (or removes), in order. */
  #entries(layer: number): Array<[string, Attribute]> {
    const source = this.#sources[this.#fields[layer * FIELDS + SOURCE]!]!;
    if (source instanceof Pairs) return source.names.map((name, at) => [name, source.attributes[at]!]);
    const start = this.#fields[layer * FIELDS + ROW]!;
    const write = this.#fields[layer * FIELDS + WRITE]!;
    const time = this.rowTime(write).ms;
    const columns = new Int32Array(source.columns.length);
    const count = source.valued(start, columns);
    return Array.from(columns.subarray(0, count), (column) => [
      source.columns[column]!,
      { value: source.value(start, column), write, time },
    ]);
  }

  /**
   * Whether `layer` is a row setting the very names the new row sets (`columns` of `rows`), in the
   * same order: then nothing under the new row can show through where it did, nor move.
   */
  #sameNames(layer: number, rows: BatchRows, columns: Int32Array, count: number): boolean {
    const source = this.#sources[this.#fields[layer * FIELDS + SOURCE]!]!;
    if (source instanceof Pairs) return false;
    if (this.#valued.length < source.columns.length) this.#valued = new Int32Array(source.columns.length);
    const valued = this.#valued;
    if (source.valued(this.#fields[layer * FIELDS + ROW]!, valued) !== count) return false;
    for (let i = 0; i < count; i++) {
      if (source === rows ? valued[i] !== columns[i] : source.columns[valued[i]!] !== rows.columns[columns[i]!]) {
        return false;
      }
    }
    return true;
  }

  /** Makes room for `count` more layers. */
  reserve(count: number): void {
    const needed = (this.#count + count) * FIELDS;
    if (needed <= this.#fields.length) return;
    let length = this.#fields.length;
    while (length < needed) length *= 2;
    this.#resize(length);
  }

  #resize(length: number): void {
    const fields = new Int32Array(length);
    fields.set(this.#fields.subarray(0, this.#count * FIELDS));
    this.#fields = fields;
  }

  #newLayer(): number {
    if (this.#free >= 0) {
      const layer = this.#free;
      this.#free = this.#fields[layer * FIELDS + BELOW]!;
      return layer;
    }
    if ((this.#count + 1) * FIELDS > this.#fields.length) this.#resize(2 * this.#fields.length);
    return this.#count++;
  }

  #release(source: number): void {
    if (--this.#uses[source]! > 0) return;
    this.#sources[source] = undefined;
    this.#unused.push(source);
  }
}
