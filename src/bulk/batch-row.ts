import { TargetValidationError } from "../errors.js";
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from "../limits.js";
import {
  CONTROL_CHARACTER,
  isWellFormed,
  ProfileUpdateSchema,
  type CheckedUpdate,
  type IdType,
} from "../profile-update.js";
import { parseOrThrow } from "../internal/validation.js";

/** One update, checked, as a batch file takes it: its id, and its names and values in input order. */
export interface BatchRow {
  readonly idType: IdType;
  readonly id: string;
  /** Bare attribute names, `null` / `undefined` values dropped. */
  readonly names: readonly string[];
  /** The values, matching `names`: booleans stringified, numbers kept (the file writes their digits). */
  readonly values: readonly (string | number)[];
}

/**
 * Checks the row at `index` of a bulk input. Breaking a rule throws the schema's own
 * `TargetValidationError`, its paths prefixed with the row index (`[12].attributes.tier`).
 * `knownNames` remembers the attribute names already found valid (a bulk input repeats the same few).
 */
export function checkRow(input: unknown, index: number, knownNames: Set<string>): BatchRow {
  return checkRowFast(input, knownNames) ?? fromChecked(parseRow(input, index));
}

// ProfileUpdateSchema's rules again, inline: valibot costs more per row than encoding the row does.
// Any doubt answers `undefined` and the schema itself then names the rule, so the messages stay in
// one place; a property test keeps the two in step.
// Plenty for any real set of columns; past it, names are simply checked every time.
const MAX_KNOWN_NAMES = 1024;

/** The fast path of `checkRow`: the row when `ProfileUpdateSchema` accepts `input`, else `undefined`. */
export function checkRowFast(input: unknown, knownNames: Set<string>): BatchRow | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  for (const key in input) if (key !== "mbox3rdPartyId" && key !== "mboxPC" && key !== "attributes") return undefined;
  const { mbox3rdPartyId, mboxPC, attributes } = input as Readonly<Record<string, unknown>>;

  if (mboxPC !== undefined && mbox3rdPartyId !== undefined) return undefined;
  const idType: IdType = mboxPC === undefined ? "thirdPartyId" : "pcId";
  const id = idType === "pcId" ? mboxPC : mbox3rdPartyId;
  if (typeof id !== "string" || !isText(id) || id.length > MAX_ID_LENGTH) return undefined;
  if (idType === "thirdPartyId" && (id.includes("+") || id.includes("/"))) return undefined;
  if (typeof attributes !== "object" || attributes === null) return undefined;

  const names: string[] = [];
  const values: (string | number)[] = [];
  for (const name of Object.keys(attributes)) {
    // valibot's record() skips these keys without a word.
    if (name === "__proto__" || name === "prototype" || name === "constructor") continue;
    if (!knownNames.has(name)) {
      if (!isAttributeName(name)) return undefined;
      if (knownNames.size < MAX_KNOWN_NAMES) knownNames.add(name);
    }
    const value = (attributes as Readonly<Record<string, unknown>>)[name];
    if (value === null || value === undefined) continue;
    if (typeof value === "string") {
      if (!isText(value)) return undefined;
      values.push(value);
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) return undefined;
      values.push(value);
    } else if (typeof value === "boolean") {
      values.push(String(value));
    } else {
      return undefined;
    }
    names.push(name);
  }
  return names.length === 0 ? undefined : { idType, id, names, values };
}

/** Non-empty and well-formed (no lone surrogate). */
function isText(text: string): boolean {
  return text.length > 0 && isWellFormed(text);
}

function isAttributeName(name: string): boolean {
  return (
    isText(name) && name.length <= MAX_NAME_LENGTH && !CONTROL_CHARACTER.test(name) && !name.startsWith("profile.")
  );
}

function parseRow(input: unknown, index: number): CheckedUpdate {
  try {
    return parseOrThrow(ProfileUpdateSchema, input);
  } catch (error) {
    if (!(error instanceof TargetValidationError)) throw error;
    throw new TargetValidationError(error.issues.map(({ path, message }) => ({ path: atRow(index, path), message })));
  }
}

/** `[12]`, `[12].attributes.tier`, `[12]["odd key"]`. */
export function atRow(index: number, path = ""): string {
  return path === "" || path.startsWith("[") ? `[${index}]${path}` : `[${index}].${path}`;
}

/** The schema's output as a row (only reached when the fast path declined a valid input). */
function fromChecked(update: CheckedUpdate): BatchRow {
  return {
    idType: update.idType,
    id: update.id,
    names: update.attributes.map(([name]) => name),
    values: update.attributes.map(([, value]) => value),
  };
}
