// The files `push` writes beside its input: rejected rows with their notes, and the rows of the ids
// Target reported as failed, each in the input's own format so that it can be pushed again.
import { closeSync, existsSync, openSync, rmSync, writeSync } from "node:fs";
import type { ValidationIssue } from "target-profile";
import type { Format } from "./input.js";

/** A CSV cell, quoted when it must be. */
export const csvCell = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/** Appends text to a file through a buffer (rejects are few; a file of them should not cost a write each). */
class BufferedFile {
  readonly #path: string;
  #fd: number | undefined;
  #buffer = "";

  constructor(path: string) {
    this.#path = path;
  }

  write(text: string): void {
    this.#buffer += text;
    if (this.#buffer.length > 64 * 1024) this.flush();
  }

  flush(): void {
    this.#fd ??= openSync(this.#path, "w");
    writeSync(this.#fd, this.#buffer);
    this.#buffer = "";
  }

  close(): void {
    this.flush();
    closeSync(this.#fd!);
  }
}

/**
 * The rejects file: each rejected row as it was read, after three notes (its line, the field, the
 * rule): `rejected:line,rejected:field,rejected:rule,` then the input's columns for CSV; for NDJSON,
 * the line's object with the notes as its first keys (or its text under `rejected:text`). `push`
 * leaves the notes out, so the file can be fixed and pushed as it is.
 */
export class RejectsFile {
  readonly path: string;
  readonly #format: Format;
  readonly #header: () => string | undefined;
  #file: BufferedFile | undefined;
  count = 0;

  constructor(path: string, format: Format, header: () => string | undefined) {
    this.path = path;
    this.#format = format;
    this.#header = header;
  }

  add(line: number, issues: readonly ValidationIssue[], text: string): void {
    this.count++;
    const field = issues.map((issue) => issue.path || "(row)").join("; ");
    const rule = issues.map((issue) => issue.message).join("; ");
    if (this.#file === undefined) {
      this.#file = new BufferedFile(this.path);
      if (this.#format === "csv")
        this.#file.write(`rejected:line,rejected:field,rejected:rule,${this.#header() ?? ""}\n`);
    }
    if (this.#format === "csv") {
      this.#file.write(`${line},${csvCell(field)},${csvCell(rule)},${text}\n`);
      return;
    }
    const notes = { "rejected:line": line, "rejected:field": field, "rejected:rule": rule };
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch {
      object = undefined;
    }
    const row =
      typeof object === "object" && object !== null && !Array.isArray(object)
        ? { ...notes, ...object }
        : { ...notes, "rejected:text": text };
    this.#file.write(`${JSON.stringify(row)}\n`);
  }

  /** Closes the file; with no rejects, none is left (a previous run's is removed). */
  close(): void {
    if (this.#file) this.#file.close();
    else if (existsSync(this.path)) rmSync(this.path);
  }
}

/** The failed rows' file: the header (CSV) and every input row of a failed id, as read. */
export class FailedFile {
  readonly path: string;
  readonly #file: BufferedFile;

  constructor(path: string, header: string | undefined) {
    this.path = path;
    this.#file = new BufferedFile(path);
    if (header !== undefined) this.#file.write(`${header}\n`);
  }

  add(text: string): void {
    this.#file.write(`${text}\n`);
  }

  close(): void {
    this.#file.close();
  }
}
