import type { ProfileSeed, StoredProfile } from "./types.js";

export type ProfileIdKind = "thirdPartyId" | "tntId" | "marketingCloudVisitorId";

export interface AttributeRecord {
  value: string;
  modifiedAt: string;
}

export interface ProfileRecord {
  tntId: string;
  thirdPartyId?: string;
  marketingCloudVisitorId?: string;
  // A Map, so that names like `__proto__` are plain data.
  attributes: Map<string, AttributeRecord>;
  modifiedAt: string;
}

export interface ProfileStore {
  find(kind: ProfileIdKind, id: string): ProfileRecord | undefined;
  /** Creates a profile known by one id; the tnt id is generated unless that id is the tnt id. */
  create(kind: "thirdPartyId" | "tntId", id: string, at: string): ProfileRecord;
  /** Sets each attribute (later pairs win); the caller leaves out empty values. */
  setAttributes(record: ProfileRecord, attributes: Iterable<readonly [string, string]>, at: string): void;
  seed(seed: ProfileSeed, at: string): void;
  records(): IterableIterator<ProfileRecord>;
  clear(): void;
}

const ID_KINDS: readonly ProfileIdKind[] = ["tntId", "thirdPartyId", "marketingCloudVisitorId"];

/** Profiles keyed by tnt id, with indexes for the two other ids. */
export function createProfileStore(newTntId: () => string): ProfileStore {
  const indexes: Record<ProfileIdKind, Map<string, ProfileRecord>> = {
    tntId: new Map(),
    thirdPartyId: new Map(),
    marketingCloudVisitorId: new Map(),
  };

  function add(record: ProfileRecord): ProfileRecord {
    for (const kind of ID_KINDS) {
      const id = record[kind];
      if (id !== undefined) indexes[kind].set(id, record);
    }
    return record;
  }

  const store: ProfileStore = {
    find: (kind, id) => indexes[kind].get(id),

    create(kind, id, at) {
      const record: ProfileRecord = {
        tntId: kind === "tntId" ? id : newTntId(),
        attributes: new Map(),
        modifiedAt: at,
      };
      if (kind === "thirdPartyId") record.thirdPartyId = id;
      return add(record);
    },

    setAttributes(record, attributes, at) {
      for (const [name, value] of attributes) {
        record.attributes.set(name, { value, modifiedAt: at });
        record.modifiedAt = at;
      }
    },

    seed(seed, at) {
      const matches = new Set(
        ID_KINDS.map((kind) => (seed[kind] !== undefined ? indexes[kind].get(seed[kind]) : undefined)),
      );
      matches.delete(undefined);
      if (matches.size > 1) throw new TypeError("seedProfile: the ids belong to different profiles");
      let record = [...matches][0];
      if (record === undefined) {
        record = add({ tntId: seed.tntId ?? newTntId(), attributes: new Map(), modifiedAt: at });
      }
      for (const kind of ID_KINDS) {
        const id = seed[kind];
        if (id === undefined || record[kind] === id) continue;
        if (record[kind] !== undefined) throw new TypeError(`seedProfile: the profile already has another ${kind}`);
        record[kind] = id;
        indexes[kind].set(id, record);
      }
      store.setAttributes(record, Object.entries(seed.attributes ?? {}), at);
      record.modifiedAt = at;
    },

    records: () => indexes.tntId.values(),

    clear() {
      for (const kind of ID_KINDS) indexes[kind].clear();
    },
  };
  return store;
}

/** A detached copy, so callers cannot change the store by accident. */
export function toStoredProfile(record: ProfileRecord): StoredProfile {
  const profile: StoredProfile = {
    tntId: record.tntId,
    attributes: Object.fromEntries([...record.attributes].map(([name, { value }]) => [name, value])),
    modifiedAt: record.modifiedAt,
  };
  if (record.thirdPartyId !== undefined) profile.thirdPartyId = record.thirdPartyId;
  if (record.marketingCloudVisitorId !== undefined) profile.marketingCloudVisitorId = record.marketingCloudVisitorId;
  return profile;
}
