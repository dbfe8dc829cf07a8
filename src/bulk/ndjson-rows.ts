// NDJSON text (one JSON object a line) as updates with their line numbers.
import type { ValidationIssue } from "../errors.js";
import type { ProfileUpdate } from "../profile-update.js";
import type { RowSourceOptions } from "./csv-rows.js";
import type { SourceRow } from "./source-row.js";
import { REPLACEMENT, textChunks, type TextInput } from "./text-chunks.js";

/** The id keys a flat object may use, and the update key each stands for. */
const ID_KEYS: Readonly<Record<string, "mbox3rdPartyId" | "mboxPC">> = {
  mbox3rdPartyId: "mbox3rdPartyId",
  thirdPartyId: "mbox3rdPartyId",
  mboxPC: "mboxPC",
  pcId: "mboxPC",
};

const issue = (path: string, message: string): readonly ValidationIssue[] => [{ path, message }];
const NOT_JSON = issue("", "is not valid JSON");
const NOT_OBJECT = issue("", "must be a JSON object: an update, or an id beside the attributes");
const NOT_UTF8 = issue("", "is not valid UTF-8 text (save the file as UTF-8)");

/**
 * Reads NDJSON into updates, one `SourceRow` per non-empty line with its line number. A line is an
 * update as `bulkUpdate` takes it (`{"mbox3rdPartyId": "…", "attributes": {…}}`, or `mboxPC`), or
 * a flat object with the id (`mbox3rdPartyId` / `thirdPartyId`, or `mboxPC` / `pcId`) beside the
 * attributes. A line that is not a JSON object comes with `issues` instead of an update, and so
 * does an integer JSON cannot carry exactly (quote it). Runs wherever the core runs.
 * @example
 * for await (const row of readNdjsonRows(file.stream())) if (row.update) console.log(row.line, row.update);
 */
export async function* readNdjsonRows(
  input: TextInput,
  options: RowSourceOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  const ignore = new Set(options.ignore ?? []);
  let buffer = "";
  let line = 1;
  const chunks = textChunks(input, "readNdjsonRows");
  for (let done = false; !done;) {
    const next = await chunks.next();
    done = next.done === true;
    buffer = done ? buffer : buffer.length > 0 ? buffer + next.value : (next.value as string);
    const suspect = buffer.includes(REPLACEMENT);
    let at = 0;
    for (;;) {
      let newline = buffer.indexOf("\n", at);
      if (newline < 0) {
        if (!done || at >= buffer.length) break;
        newline = buffer.length;
      }
      const end = newline > at && buffer.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
      const text = buffer.slice(at, end);
      at = newline + 1;
      const number = line++;
      if (text.trim() === "") continue;
      yield suspect && text.includes(REPLACEMENT)
        ? { line: number, text, issues: NOT_UTF8 }
        : readLine(number, text, ignore);
    }
    buffer = at >= buffer.length ? "" : buffer.slice(at);
  }
}

function readLine(line: number, text: string, ignore: ReadonlySet<string>): SourceRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { line, text, issues: NOT_JSON };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { line, text, issues: NOT_OBJECT };
  const object = value as Record<string, unknown>;
  for (const name of ignore) if (name in object) delete object[name];
  const inexact = inexactInteger(object);
  if (inexact !== undefined) {
    return { line, text, issues: issue(inexact, "is an integer JSON cannot carry exactly: quote it as a string") };
  }
  const read = toUpdate(object) as { update: ProfileUpdate } | { issues: readonly ValidationIssue[] };
  return { line, text, ...read };
}

/**
 * The update a line stands for: as written (`thirdPartyId` / `pcId` taken for `mbox3rdPartyId` /
 * `mboxPC`), or a flat object's id and the attributes beside it. What does not fit is passed on for
 * the check to name, or named here.
 */
function toUpdate(object: Record<string, unknown>): unknown {
  const { attributes } = object;
  const nested = typeof attributes === "object" && attributes !== null && !Array.isArray(attributes);
  const update: Record<string, unknown> = {};
  const flat: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(object)) {
    const key = ID_KEYS[name];
    if (key !== undefined) {
      if (key in update)
        return { issues: issue(name, `repeats the ${key === "mboxPC" ? "Target visitor" : "customer"} id`) };
      update[key] = value;
    } else if (nested) {
      // `attributes`, or a field the check names as unknown.
      update[name] = value;
    } else {
      flat[name] = value;
    }
  }
  if (!nested) update["attributes"] = flat;
  return { update };
}

/** The path of a number past ±(2^53 − 1) that looks like an integer (JSON.parse rounded it), if any. */
function inexactInteger(object: Record<string, unknown>): string | undefined {
  const attributes =
    typeof object["attributes"] === "object" && object["attributes"] !== null ? object["attributes"] : undefined;
  for (const [scope, values] of [
    ["", object],
    ["attributes.", attributes],
  ] as const) {
    if (values === undefined) continue;
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) return scope + name;
    }
  }
  return undefined;
}
