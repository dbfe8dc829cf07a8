// One row as a row source read it from a file: where it was, its text, and the update it holds.
import type { ValidationIssue } from "../errors.js";
import type { ProfileUpdate } from "../profile-update.js";

/**
 * A row read from CSV or NDJSON text by `readCsvRows` / `readNdjsonRows`: its line number and
 * text, and the update it holds (not yet checked: `bulkUpdate` and `checkProfileUpdate` do that),
 * or, when the text is not an update at all (malformed JSON, a wrong number of cells, no id), why.
 * `bulkUpdate` takes such rows as they are, and reports each by its `line`.
 * @example
 * for await (const row of readCsvRows(file.stream())) {
 *   if (row.issues) console.error(`line ${row.line}: ${row.issues[0]?.message}`);
 * }
 */
export interface SourceRow {
  /** The 1-based line the row starts on (a quoted CSV cell may span lines). */
  readonly line: number;
  /** The row's text as read, without its line break: what a rejects file shows. */
  readonly text: string;
  /** The update the row holds; absent when `issues` says why there is none. */
  readonly update?: ProfileUpdate;
  /** Why the text holds no update (the field and the rule, never the value). */
  readonly issues?: readonly ValidationIssue[];
}

/** Whether a bulk input's item is a `SourceRow` rather than an update (updates have no `line`). */
export function isSourceRow(item: unknown): item is SourceRow {
  return (
    typeof item === "object" &&
    item !== null &&
    typeof (item as SourceRow).line === "number" &&
    typeof (item as SourceRow).text === "string"
  );
}
