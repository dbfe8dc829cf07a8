import * as v from "valibot";
import { TargetValidationError, type ValidationIssue } from "../errors.js";
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from "../limits.js";
import {
  CONTROL_CHARACTER,
  isWellFormed,
  ProfileUpdateSchema,
  RESERVED_ATTRIBUTE_NAMES,
  type CheckedUpdate,
  type IdType,
} from "../profile-update.js";
import { toValidationIssues } from "../internal/validation.js";

/**
 * One update, checked, as a batch file takes it: its id, and its names and values in input order.
 * Readers fill one row over and over (see `emptyRow`): a row is only valid until the next is read.
 */
export interface BatchRow {
  idType: IdType;
  id: string;
  /** Bare attribute names, `null` / `undefined` values dropped. */
  readonly names: string[];
  /** The values, matching `names`: booleans stringified, numbers kept (the file writes their digits). */
  readonly values: (string | number)[];
}

/** A row to read updates into. */
export const emptyRow = (): BatchRow => ({ idType: "thirdPartyId", id: "", names: [], values: [] });

/**
 * Checks one update of a bulk input: the row (read into `into`), or the rules it breaks, as the
 * schema names them (paths relative to the update: `attributes.tier`). `knownNames` remembers the
 * attribute names already found valid (a bulk input repeats the same few).
 */
export function readRow(
  input: unknown,
  knownNames: Set<string>,
  into: BatchRow = emptyRow(),
  checkText = true,
): BatchRow | readonly ValidationIssue[] {
  const row = checkRowFast(input, knownNames, into, checkText);
  if (row) return row;
  const result = v.safeParse(ProfileUpdateSchema, input, { abortPipeEarly: true });
  if (!result.success) return toValidationIssues(result.issues);
  const update = result.output;
  into.idType = update.idType;
  into.id = update.id;
  into.names.length = into.values.length = 0;
  for (const [name, value] of update.attributes) {
    into.names.push(name);
    into.values.push(value);
  }
  return into;
}

/** The error for the row at `index` of a bulk input: its issues' paths prefixed with it (`[12].attributes.tier`). */
export function rowError(index: number, issues: readonly ValidationIssue[]): TargetValidationError {
  return new TargetValidationError(issues.map(({ path, message }) => ({ path: atRow(index, path), message })));
}

// ProfileUpdateSchema's rules again, inline: valibot costs more per row than encoding the row does.
// Any doubt answers `undefined` and the schema itself then names the rule, so the messages stay in
// one place; a property test keeps the two in step.
// Plenty for any real set of columns; past it, names are simply checked every time.
const MAX_KNOWN_NAMES = 1024;

/**
 * The fast path of `readRow`: the row when `ProfileUpdateSchema` accepts `input`, else `undefined`.
 * Without `checkText`, the id and values are not checked for lone surrogates: for a writer that
 * finds them anyway (`percentEncodeInto` throws on them), then asks the schema.
 */
export function checkRowFast(
  input: unknown,
  knownNames: Set<string>,
  into = emptyRow(),
  checkText = true,
): BatchRow | undefined {
  const attributes = readIdFast(input, into, checkText);
  if (typeof attributes !== "object" || attributes === null) return undefined;
  const plain = inheritsHasOwn(attributes);

  // Written over the previous row's names: a name found at its old place was checked already.
  const { names, values } = into;
  let count = 0;
  // for-in rather than Object.keys/values: no arrays per row, and V8 answers `hasOwnProperty` and
  // reads `attributes[name]` from the object's layout. Own names only, as the schema reads them.
  for (const name in attributes) {
    if (!(plain ? attributes.hasOwnProperty(name) : hasOwn.call(attributes, name))) return undefined;
    if (names[count] !== name && !knownNames.has(name)) {
      if (!isAttributeName(name)) return undefined;
      if (knownNames.size < MAX_KNOWN_NAMES) knownNames.add(name);
    }
    const cell = batchCell((attributes as Readonly<Record<string, unknown>>)[name], checkText);
    if (cell === undefined) return undefined;
    if (cell === null) continue;
    values[count] = cell;
    names[count++] = name;
  }
  if (names.length !== count) names.length = values.length = count;
  return count === 0 ? undefined : into;
}

/**
 * The first half of the fast path: when `input` is `{ mbox3rdPartyId | mboxPC, attributes }` with a
 * valid id, that id into `into` and the `attributes` as given (not checked yet); else `undefined`.
 */
export function readIdFast(input: unknown, into: BatchRow, checkText: boolean): unknown {
  if (typeof input !== "object" || input === null) return undefined;
  for (const key in input) if (key !== "mbox3rdPartyId" && key !== "mboxPC" && key !== "attributes") return undefined;
  const { mbox3rdPartyId, mboxPC, attributes } = input as Readonly<Record<string, unknown>>;

  if (mboxPC !== undefined && mbox3rdPartyId !== undefined) return undefined;
  const idType: IdType = mboxPC === undefined ? "thirdPartyId" : "pcId";
  const id = idType === "pcId" ? mboxPC : mbox3rdPartyId;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) return undefined;
  if (checkText && !isWellFormed(id)) return undefined;
  if (idType === "thirdPartyId" && hasPlusOrSlash(id)) return undefined;
  into.idType = idType;
  into.id = id;
  return attributes;
}

/** Whether a customer id holds `+` or `/` (one pass over a short string beats two `includes` calls). */
function hasPlusOrSlash(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code === 0x2b || code === 0x2f) return true;
  }
  return false;
}

/** Object.prototype's, called as `hasOwn.call(object, name)` on objects that lack or shadow it. */
export const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Whether `object.hasOwnProperty` is Object.prototype's (a plain object, a class instance): then the
 * fast paths call it as a method inside their for-in, which V8 answers from the object's layout.
 */
export const inheritsHasOwn = (object: object): boolean =>
  (object as { hasOwnProperty?: unknown }).hasOwnProperty === hasOwn;

/**
 * An attribute value as a batch cell, by the schema's rules: the text or number to write (booleans
 * as `"true"` / `"false"`), `null` when absent (`null`, `undefined`), `undefined` when refused.
 */
export function batchCell(value: unknown, checkText: boolean): string | number | null | undefined {
  if (typeof value === "string") return value.length === 0 || (checkText && !isWellFormed(value)) ? undefined : value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "boolean") return value ? "true" : "false";
  return value === null || value === undefined ? null : undefined;
}

/** Non-empty and well-formed (no lone surrogate). */
function isText(text: string): boolean {
  return text.length > 0 && isWellFormed(text);
}

// A reserved name (`__proto__`…) is refused here, so never known: the schema then names its rule.
function isAttributeName(name: string): boolean {
  return (
    isText(name) &&
    name.length <= MAX_NAME_LENGTH &&
    !CONTROL_CHARACTER.test(name) &&
    !name.startsWith("profile.") &&
    !RESERVED_ATTRIBUTE_NAMES.has(name)
  );
}

/** `[12]`, `[12].attributes.tier`, `[12]["odd key"]`. */
export function atRow(index: number, path = ""): string {
  return path === "" || path.startsWith("[") ? `[${index}]${path}` : `[${index}].${path}`;
}
