import * as v from "valibot";
import { objectMessage, presentedKey } from "../../src/internal/index.js";
import { RelayError } from "../relay-error.js";

/**
 * `write` may send updates; `read` may read profiles; batch statuses are open to both. `admin` may
 * see and replay dead letters: replaying re-sends other callers' data, so neither of the others
 * implies it.
 */
export type Scope = "read" | "write" | "admin";

/** A caller's key, as the relay keeps it: its name (for logs and rate limits) and a digest, never the key. */
export interface RelayKey {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly digest: ArrayBuffer;
}

// The name shows up in logs and rate-limit keys, so it is a plain label.
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** OAuth-style scope: `"write"`, `"read"`, `"admin"`, or several space-separated (`"read write"`). */
const SCOPE_MESSAGE = 'must be "write", "read", "admin", or several space-separated ("read write")';
const ScopeSchema = v.pipe(
  v.string(SCOPE_MESSAGE),
  v.regex(/^\s*(?:read|write|admin)(?:\s+(?:read|write|admin))*\s*$/, SCOPE_MESSAGE),
  v.transform((scope) => new Set(scope.trim().split(/\s+/) as Scope[])),
);

const RelayKeyEntrySchema = v.strictObject(
  {
    name: v.pipe(
      v.string("is required"),
      v.regex(KEY_NAME, "must be a label of letters, digits, '.', '_' or '-' (at most 64)"),
    ),
    key: v.pipe(v.string("is required"), v.nonEmpty("must not be empty")),
    scope: ScopeSchema,
  },
  objectMessage("must be { name, key, scope }", "unknown field: a key is { name, key, scope }"),
);

/** The `RELAY_KEYS` list: several keys at once, so a new one can go live before the old one is removed. */
export const RelayKeysSchema = v.pipe(
  v.array(RelayKeyEntrySchema, "must be a JSON array of { name, key, scope }"),
  v.nonEmpty("must hold at least one key"),
  v.check((keys) => new Set(keys.map((key) => key.name)).size === keys.length, "key names must be unique"),
  v.check((keys) => new Set(keys.map((key) => key.key)).size === keys.length, "keys must be unique"),
);

export type RelayKeyEntry = v.InferOutput<typeof RelayKeysSchema>[number];

const encoder = new TextEncoder();
const sha256 = (text: string) => crypto.subtle.digest("SHA-256", encoder.encode(text));

export async function digestKeys(entries: readonly RelayKeyEntry[]): Promise<RelayKey[]> {
  return Promise.all(entries.map(async ({ name, scope, key }) => ({ name, scopes: scope, digest: await sha256(key) })));
}

/**
 * The key presented as `Authorization: Bearer KEY`, or a 401. Both sides are hashed first, so the
 * comparison is constant-time and of equal lengths, and every key is compared, so the time taken
 * does not tell which one matched.
 */
export async function authenticate(request: Request, keys: readonly RelayKey[]): Promise<RelayKey> {
  const header = request.headers.get("authorization");
  if (header === null) throw unauthorized("missing credentials: send Authorization: Bearer <key>");
  const presented = presentedKey(header);
  if (presented === undefined) throw unauthorized("invalid credentials: send Authorization: Bearer <key>");
  const digest = await sha256(presented);
  let found: RelayKey | undefined;
  for (const key of keys) {
    if (crypto.subtle.timingSafeEqual(digest, key.digest)) found ??= key;
  }
  if (found === undefined) throw unauthorized("invalid credentials");
  return found;
}

const unauthorized = (message: string) =>
  new RelayError(401, "unauthorized", message, {
    headers: { "www-authenticate": 'Bearer realm="target-profile-relay"' },
  });
