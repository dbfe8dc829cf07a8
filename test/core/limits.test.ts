import { describe, expect, it } from "vitest";
import * as core from "../../src/index.js";

// Target's documented limits (docs/target-api.md), held once in src/limits.ts and exported.
describe("Target's limits", () => {
  it("are the documented values", () => {
    expect({
      MAX_GET_URL_BYTES: core.MAX_GET_URL_BYTES,
      MAX_POST_BODY_BYTES: core.MAX_POST_BODY_BYTES,
      MAX_BATCH_ROWS: core.MAX_BATCH_ROWS,
      MAX_BATCH_BYTES: core.MAX_BATCH_BYTES,
      MAX_ID_LENGTH: core.MAX_ID_LENGTH,
      MAX_NAME_LENGTH: core.MAX_NAME_LENGTH,
      BULK_CALLS_PER_MINUTE: core.BULK_CALLS_PER_MINUTE,
      BULK_CALL_WINDOW_MS: core.BULK_CALL_WINDOW_MS,
      SINGLE_UPDATES_PER_DAY: core.SINGLE_UPDATES_PER_DAY,
      FETCHES_PER_DAY: core.FETCHES_PER_DAY,
      DAILY_QUOTA_WINDOW_MS: core.DAILY_QUOTA_WINDOW_MS,
      BATCH_STATUS_RETENTION_MS: core.BATCH_STATUS_RETENTION_MS,
      KEPT_BATCH_STATUSES: core.KEPT_BATCH_STATUSES,
      MAX_PROFILE_PARAMETERS_PER_MBOX: core.MAX_PROFILE_PARAMETERS_PER_MBOX,
      MAX_REALTIME_VALUE_LENGTH: core.MAX_REALTIME_VALUE_LENGTH,
      MAX_MBOX_NAME_LENGTH: core.MAX_MBOX_NAME_LENGTH,
      MAX_TNT_ID_LENGTH: core.MAX_TNT_ID_LENGTH,
      MAX_SESSION_ID_LENGTH: core.MAX_SESSION_ID_LENGTH,
      REALTIME_SESSION_MS: core.REALTIME_SESSION_MS,
      MAX_CONCURRENT_SESSION_REQUESTS: core.MAX_CONCURRENT_SESSION_REQUESTS,
    }).toEqual({
      MAX_GET_URL_BYTES: 8 * 1024,
      MAX_POST_BODY_BYTES: 60 * 1024,
      MAX_BATCH_ROWS: 500_000,
      // Files must be under 50 MB.
      MAX_BATCH_BYTES: 50 * 1024 * 1024 - 1,
      MAX_ID_LENGTH: 256,
      MAX_NAME_LENGTH: 128,
      BULK_CALLS_PER_MINUTE: 50,
      BULK_CALL_WINDOW_MS: 60_000,
      SINGLE_UPDATES_PER_DAY: 1_000_000,
      FETCHES_PER_DAY: 1_000_000,
      DAILY_QUOTA_WINDOW_MS: 24 * 60 * 60 * 1000,
      BATCH_STATUS_RETENTION_MS: 24 * 60 * 60 * 1000,
      KEPT_BATCH_STATUSES: 10,
      // The Delivery API (real time): 50 profile parameters an mbox, values of 256 characters
      // (longer ones are cut), mbox names of 250, tnt ids of 128, sessionIds of 128, sessions of
      // 30 minutes, 100 concurrent requests a session.
      MAX_PROFILE_PARAMETERS_PER_MBOX: 50,
      MAX_REALTIME_VALUE_LENGTH: 256,
      MAX_MBOX_NAME_LENGTH: 250,
      MAX_TNT_ID_LENGTH: 128,
      MAX_SESSION_ID_LENGTH: 128,
      REALTIME_SESSION_MS: 30 * 60 * 1000,
      MAX_CONCURRENT_SESSION_REQUESTS: 100,
    });
  });
});
