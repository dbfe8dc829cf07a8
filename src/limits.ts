// Target's documented limits, in one place: the core checks input against them before sending, the
// emulator enforces them, and the relay sizes its budgets by them. Our reading of each, with its source,
// is in docs/target-api.md. A leaf: it imports nothing, so every module (core, emulator, Worker) can.

/**
 * Target's limit for a GET update: the whole URL, in bytes (8 KB). Longer updates go as POST.
 * @example
 * buildUpdateRequest(update, { clientCode: "acme" }).url.length <= MAX_GET_URL_BYTES; // for a GET
 */
export const MAX_GET_URL_BYTES = 8 * 1024;

/**
 * Target's limit for a POST update: the form body, in bytes (60 KB). Larger updates are refused before sending.
 * @example
 * if (error.message.includes(String(MAX_POST_BODY_BYTES))) splitTheUpdate();
 */
export const MAX_POST_BODY_BYTES = 60 * 1024;

/**
 * Target's limit of rows in one batch file (the default `maxRows`).
 * @example
 * encodeBatches(rows, { maxRows: MAX_BATCH_ROWS / 10 });
 */
export const MAX_BATCH_ROWS = 500_000;

/**
 * The largest batch file in bytes: files must be under 50 MB (the default `maxBytes`).
 * @example
 * encodeBatches(rows, { maxBytes: Math.floor(MAX_BATCH_BYTES / 2) });
 */
export const MAX_BATCH_BYTES = 50 * 1024 * 1024 - 1;

/**
 * The longest visitor id (`mbox3rdPartyId`, `mboxPC`), in UTF-16 code units: Target's services are
 * Java, whose `String.length()` counts those.
 * @example
 * if (crmId.length > MAX_ID_LENGTH) skip(crmId);
 */
export const MAX_ID_LENGTH = 256;

/**
 * The longest attribute name (bare, without `profile.`), in UTF-16 code units.
 * @example
 * const fits = Object.keys(attributes).every((name) => name.length <= MAX_NAME_LENGTH);
 */
export const MAX_NAME_LENGTH = 128;

/**
 * Bulk API calls (batch submissions and status checks) Target allows an account in any rolling minute,
 * shared with its Admin and Reporting APIs; beyond, it answers 503. The default `bulkCallsPerMinute`.
 * @example
 * createTargetClient({ clientCode: "acme", bulkCallsPerMinute: BULK_CALLS_PER_MINUTE / 2 });
 */
export const BULK_CALLS_PER_MINUTE = 50;

/**
 * The rolling window of `BULK_CALLS_PER_MINUTE`, in milliseconds.
 * @example
 * const pause = BULK_CALL_WINDOW_MS / BULK_CALLS_PER_MINUTE; // 1.2 s between calls, evenly spread
 */
export const BULK_CALL_WINDOW_MS = 60_000;

/**
 * Single profile updates Target takes per account in any rolling 24 hours.
 * @example
 * const share = updatesToday / SINGLE_UPDATES_PER_DAY;
 */
export const SINGLE_UPDATES_PER_DAY = 1_000_000;

/**
 * Profile fetches Target answers per account in any rolling 24 hours.
 * @example
 * const share = fetchesToday / FETCHES_PER_DAY;
 */
export const FETCHES_PER_DAY = 1_000_000;

/**
 * The rolling window of `SINGLE_UPDATES_PER_DAY` and `FETCHES_PER_DAY`, in milliseconds.
 * @example
 * const resetsAt = oldestCallAt + DAILY_QUOTA_WINDOW_MS;
 */
export const DAILY_QUOTA_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * How many batch statuses Target keeps per account (client code): only the last 10, each for at most
 * `BATCH_STATUS_RETENTION_MS`. A waiting `bulkUpdate` leaves at most this many batches unread.
 * @example
 * const safeToSubmit = unreadBatches < KEPT_BATCH_STATUSES;
 */
export const KEPT_BATCH_STATUSES = 10;

/**
 * How long Target keeps a batch's status after its submission: about 24 hours, in milliseconds.
 * @example
 * const stale = Date.now() - submittedAt > BATCH_STATUS_RETENTION_MS; // its status is gone
 */
export const BATCH_STATUS_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * The most profile parameters one mbox of a Delivery API call carries; more attributes go in several
 * mboxes of one request, each a billed server call.
 * @example
 * const billedCalls = Math.ceil(Object.keys(attributes).length / MAX_PROFILE_PARAMETERS_PER_MBOX);
 */
export const MAX_PROFILE_PARAMETERS_PER_MBOX = 50;

/**
 * The longest value of a profile parameter sent in an mbox, in UTF-16 code units. Target cuts longer
 * values, so the real-time path refuses them instead.
 * @example
 * const fits = String(value).length <= MAX_REALTIME_VALUE_LENGTH;
 */
export const MAX_REALTIME_VALUE_LENGTH = 256;

/**
 * The longest mbox name, in UTF-16 code units.
 * @example
 * createTargetClient({ clientCode: "acme", realtimeMbox: "crm-sync".slice(0, MAX_MBOX_NAME_LENGTH) });
 */
export const MAX_MBOX_NAME_LENGTH = 250;

/**
 * The longest tnt id (`mboxPC`) the Delivery API takes, in UTF-16 code units.
 * @example
 * if (pcId.length > MAX_TNT_ID_LENGTH) useTheThirdPartyIdInstead();
 */
export const MAX_TNT_ID_LENGTH = 128;

/**
 * The longest Delivery API `sessionId`, in characters (printable, without space, `?`, `{`, `}` or `/`).
 * @example
 * buildDeliveryRequest(update, { clientCode: "acme", sessionId: crypto.randomUUID() }); // 36 characters
 */
export const MAX_SESSION_ID_LENGTH = 128;

/**
 * How long Target keeps a Delivery API session after its last call, in milliseconds: within it, the
 * same visitor must keep the same `sessionId`.
 * @example
 * const live = Date.now() - lastCallAt < REALTIME_SESSION_MS;
 */
export const REALTIME_SESSION_MS = 30 * 60 * 1000;

/**
 * Delivery API requests of one session Target takes at the same time; beyond, it answers 420.
 * @example
 * const inFlight = Math.min(wanted, MAX_CONCURRENT_SESSION_REQUESTS);
 */
export const MAX_CONCURRENT_SESSION_REQUESTS = 100;
