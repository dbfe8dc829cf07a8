// Schema fragments the core's options and inputs (and the relay's) are built from: each rule, and its
// message, written once. Messages name the field and the rule, never the value.
import * as v from "valibot";

// setTimeout's ceiling: a larger timeout would fire at once.
const MAX_TIMER_MS = 2_147_483_647;

/** A whole number of milliseconds that a timer can wait, named `field` in messages. */
export const milliseconds = (field: string) =>
  v.pipe(
    v.number(`${field} must be a number of milliseconds`),
    v.integer(`${field} must be a whole number of milliseconds`),
    v.minValue(0, `${field} must not be negative`),
    v.maxValue(MAX_TIMER_MS, `${field} must be at most ${MAX_TIMER_MS} ms`),
  );

/** A whole number of at least `min`, named `field` in messages. */
export const wholeNumber = (field: string, min: number) =>
  v.pipe(
    v.number(`${field} must be a number`),
    v.integer(`${field} must be a whole number`),
    v.minValue(min, min === 0 ? `${field} must not be negative` : `${field} must be at least ${min}`),
  );

/** An http(s) URL that paths are appended to: no query, no fragment, no trailing slash. */
export const httpBaseUrlSchema = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.url(`${field} must be an absolute URL`),
    v.check((url) => /^https?:$/.test(new URL(url).protocol), `${field} must use http or https`),
    v.check((url) => !url.includes("?") && !url.includes("#"), `${field} must not have a query or a fragment`),
    // Normalized (punycode host, encoded path) and without a trailing slash, so paths append cleanly.
    v.transform((url) => new URL(url).href.replace(/\/+$/, "")),
  );

/** A non-empty string (a token, a key, a secret), named `field` in messages. */
export const nonEmptyString = (field: string) =>
  v.pipe(v.string(`${field} must be a string`), v.nonEmpty(`${field} must not be empty`));

/** A function (`fetch`, `onProgress`), named `field` in messages. */
export const functionSchema = <TFunction>(field: string) =>
  v.custom<TFunction>((input) => typeof input === "function", `${field} must be a function`);

/** The `signal` every call takes: stops it, retries and waits included. */
export const SignalSchema = v.optional(
  v.custom<AbortSignal>((input) => input instanceof AbortSignal, "signal must be an AbortSignal"),
);

/**
 * The message of an object schema's own issues: a key it does not know (strict objects only), a key
 * missing, or an input that is not an object at all.
 */
export const objectMessage =
  (notAnObject: string, unknownKey = "unknown field") =>
  (issue: v.BaseIssue<unknown>): string => {
    if (issue.expected === "never") return unknownKey;
    return issue.path ? "is required" : notAnObject;
  };
