// Type tests of the public inference, checked by tsc through `vitest --typecheck` (the node project's
// `typecheck.include`; `npm run test:types` runs only these) and by `npm run typecheck`.
// Imports go through the package name, as a user writes them.
import {
  buildDeliveryRequest,
  buildUpdateRequest,
  createMemorySessionStore,
  createTargetClient,
  parseDeliveryResponse,
  encodeBatches,
  encodeBatchesAsync,
  isTargetBulkUpdateError,
  isTargetHttpError,
  isTargetNetworkError,
  isTargetProfileError,
  isTargetQuotaError,
  isTargetRejectedError,
  isTargetResponseError,
  isTargetTimeoutError,
  isTargetValidationError,
  TargetBulkUpdateError,
  TargetHttpError,
  TargetNetworkError,
  TargetProfileError,
  TargetQuotaError,
  TargetRejectedError,
  TargetResponseError,
  TargetTimeoutError,
  TargetValidationError,
  isTargetRelayError,
  checkProfileUpdate,
  readCsvRows,
  readNdjsonRows,
  type BatchFile,
  type BulkBatchEvent,
  type InvalidRow,
  type NetworkFailureKind,
  type SourceRow,
  type BulkReport,
  type DeliveryResult,
  type RealtimeResult,
  type RealtimeSession,
  type RealtimeSessionStore,
  type ProfileLookup,
  type RelayErrorCode,
  type TargetRelayErrorCode,
  type IdType,
  type ProfileUpdate,
  type TargetClientOptions,
  type TargetProfile,
  type UpdateResult,
  type ValidationIssue,
} from "target-profile";
import {
  createTargetEmulator,
  type ProfileLookup as EmulatorProfileLookup,
  type TargetEmulatorOptions,
} from "target-profile/emulator";
import { assertType, describe, expectTypeOf, it } from "vitest";

const target = createTargetClient({ clientCode: "acme" });

describe("the update input", () => {
  it("takes a third-party id or a pcId, with attributes", () => {
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold", ltv: 1200, vip: true } });
    assertType<ProfileUpdate>({ mboxPC: "1368007744041-575948.01_00", attributes: { storePurchase: true } });
    // null / undefined values are allowed (and skipped)
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42", attributes: { tier: null, ltv: undefined, points: 3 } });
  });

  it("refuses both id kinds at once, and none", () => {
    // @ts-expect-error: exactly one of mbox3rdPartyId / mboxPC
    assertType<ProfileUpdate>({
      mbox3rdPartyId: "crm-42",
      mboxPC: "1368007744041-575948.01_00",
      attributes: { tier: "gold" },
    });
    // @ts-expect-error: an update needs an id
    assertType<ProfileUpdate>({ attributes: { tier: "gold" } });
    // @ts-expect-error: and attributes
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42" });
  });

  it("refuses both id kinds in every call that takes an update", () => {
    // @ts-expect-error: updateProfile
    void target.updateProfile({ mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } });
    buildUpdateRequest(
      // @ts-expect-error: buildUpdateRequest
      { mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } },
      { clientCode: "acme" },
    );
    // @ts-expect-error: encodeBatches rows
    encodeBatches([{ mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } }]);
    // @ts-expect-error: bulkUpdate rows
    void target.bulkUpdate([{ mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } }]);
    // @ts-expect-error: updateProfileRealtime
    void target.updateProfileRealtime({ mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } });
    buildDeliveryRequest(
      // @ts-expect-error: buildDeliveryRequest
      { mbox3rdPartyId: "crm-42", mboxPC: "pc", attributes: { tier: "gold" } },
      { clientCode: "acme", sessionId: "s" },
    );
  });

  it("takes only strings, numbers and booleans as values", () => {
    // @ts-expect-error: no nested objects
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42", attributes: { address: { city: "Basel" } } });
    // @ts-expect-error: no arrays
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42", attributes: { tags: ["a", "b"] } });
    // @ts-expect-error: no dates
    assertType<ProfileUpdate>({ mbox3rdPartyId: "crm-42", attributes: { since: new Date() } });
  });
});

describe("the client's answers", () => {
  it("getProfile resolves to a TargetProfile or undefined", () => {
    expectTypeOf(target.getProfile({ thirdPartyId: "crm-42" })).toEqualTypeOf<Promise<TargetProfile | undefined>>();
    expectTypeOf(target.getProfile).returns.toEqualTypeOf<Promise<TargetProfile | undefined>>();
  });

  it("a TargetProfile always has client and visitorId (older answers' ids are optional extras)", () => {
    expectTypeOf<TargetProfile["client"]>().toEqualTypeOf<string>();
    expectTypeOf<TargetProfile["visitorId"]>().toEqualTypeOf<string>();
    expectTypeOf<TargetProfile["mboxPC"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<TargetProfile["thirdPartyId"]>().toEqualTypeOf<string | undefined>();
    const profile = {} as TargetProfile;
    expectTypeOf(profile.profileAttributes["tier"]?.value).toEqualTypeOf<string | number | boolean | undefined>();
  });

  it("updateProfile resolves to the method and Target's message", () => {
    expectTypeOf(target.updateProfile).returns.toEqualTypeOf<Promise<UpdateResult>>();
    expectTypeOf<UpdateResult["method"]>().toEqualTypeOf<"GET" | "POST">();
    expectTypeOf<UpdateResult["message"]>().toEqualTypeOf<string>();
  });

  it("bulkUpdate resolves to a report", () => {
    expectTypeOf(target.bulkUpdate).returns.toEqualTypeOf<Promise<BulkReport>>();
  });

  it("buildUpdateRequest returns a Request, not sent", () => {
    expectTypeOf(buildUpdateRequest).returns.toEqualTypeOf<Request>();
  });

  it("updateProfileRealtime resolves to Target's answer and the session, and builds like the others", () => {
    expectTypeOf(target.updateProfileRealtime).returns.toEqualTypeOf<Promise<RealtimeResult>>();
    expectTypeOf<RealtimeResult>().toExtend<DeliveryResult>();
    expectTypeOf<RealtimeResult["sessionId"]>().toEqualTypeOf<string>();
    expectTypeOf<RealtimeResult["tntId"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RealtimeResult["mboxes"]>().toEqualTypeOf<number>();
    expectTypeOf(buildDeliveryRequest).returns.toEqualTypeOf<Request>();
    expectTypeOf(parseDeliveryResponse).returns.toEqualTypeOf<DeliveryResult>();
    // @ts-expect-error: a Delivery API request needs the visitor's sessionId
    buildDeliveryRequest({ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } }, { clientCode: "acme" });
  });

  it("a session store is pluggable, sync or async", () => {
    expectTypeOf(createMemorySessionStore()).toEqualTypeOf<RealtimeSessionStore>();
    assertType<TargetClientOptions>({
      clientCode: "acme",
      sessionStore: { open: async (_visitor, fresh) => fresh, save: async () => {} },
      realtimeMbox: "crm-sync",
      propertyToken: "token",
    });
    const incomplete = { open: (_visitor: string, fresh: RealtimeSession) => fresh };
    // @ts-expect-error: a store needs save too
    assertType<TargetClientOptions>({ clientCode: "acme", sessionStore: incomplete });
  });
});

describe("encodeBatches", () => {
  it("yields BatchFile", () => {
    const rows: ProfileUpdate[] = [{ mbox3rdPartyId: "crm-42", attributes: { tier: "gold" } }];
    expectTypeOf(encodeBatches(rows)).toExtend<Iterable<BatchFile>>();
    for (const file of encodeBatches(rows, { maxRows: 1000, maxBytes: 1024 * 1024 })) {
      expectTypeOf(file).toEqualTypeOf<BatchFile>();
      expectTypeOf(file.body).toEqualTypeOf<string>();
      expectTypeOf(file.rows).toEqualTypeOf<number>();
      expectTypeOf(file.bytes).toEqualTypeOf<number>();
      expectTypeOf(file.idType).toEqualTypeOf<IdType>();
      expectTypeOf(file.columns).toExtend<readonly string[]>();
    }
    // The async twin yields the same files, from sync or async rows.
    expectTypeOf(encodeBatchesAsync(rows)).toExtend<AsyncIterable<BatchFile>>();
    async function* stream(): AsyncGenerator<ProfileUpdate> {
      yield* rows;
    }
    expectTypeOf(encodeBatchesAsync(stream())).toExtend<AsyncIterable<BatchFile>>();
  });

  it("takes no async input (that is encodeBatchesAsync)", () => {
    async function* stream(): AsyncGenerator<ProfileUpdate> {}
    // @ts-expect-error: encodeBatches is synchronous
    encodeBatches(stream());
  });

  it("a BatchFile is accepted by submitBatch", () => {
    expectTypeOf(target.submitBatch).parameter(0).toExtend<BatchFile | string>();
    expectTypeOf<BatchFile>().toExtend<Parameters<typeof target.submitBatch>[0]>();
  });
});

describe("row sources and the bulk pieces under the command line", () => {
  it("row sources yield SourceRows that bulkUpdate takes as they are", () => {
    const target = createTargetClient({ clientCode: "acme" });
    const rows = readCsvRows(new ReadableStream<Uint8Array>());
    expectTypeOf(rows).toEqualTypeOf<AsyncGenerator<SourceRow, void, undefined>>();
    expectTypeOf(readNdjsonRows(["{}"])).toEqualTypeOf<AsyncGenerator<SourceRow, void, undefined>>();
    expectTypeOf(target.bulkUpdate(rows)).resolves.toEqualTypeOf<BulkReport>();
    // @ts-expect-error: a row source reads text, not updates
    readCsvRows([{ mbox3rdPartyId: "crm-1", attributes: {} }]);
  });

  it("checkProfileUpdate answers the issues; onInvalidRow and onBatch are typed", () => {
    expectTypeOf(checkProfileUpdate({})).toEqualTypeOf<readonly ValidationIssue[]>();
    const target = createTargetClient({ clientCode: "acme" });
    void target.bulkUpdate([], {
      onInvalidRow: (row) => expectTypeOf(row).toEqualTypeOf<InvalidRow>(),
      onBatch: (event) => {
        expectTypeOf(event).toEqualTypeOf<BulkBatchEvent>();
        if (event.stage === "submitted") expectTypeOf(event.batch.batchId).toBeString();
        expectTypeOf(event.batch.input.first).toBeNumber();
      },
    });
  });

  it("a network error says its kind", () => {
    expectTypeOf<TargetNetworkError["kind"]>().toEqualTypeOf<NetworkFailureKind>();
  });
});

describe("error guards narrow", () => {
  it("each guard narrows unknown to its class", () => {
    const error: unknown = new Error("x");
    if (isTargetProfileError(error)) expectTypeOf(error).toEqualTypeOf<TargetProfileError>();
    if (isTargetValidationError(error)) {
      expectTypeOf(error).toEqualTypeOf<TargetValidationError>();
      expectTypeOf(error.issues).toEqualTypeOf<readonly ValidationIssue[]>();
      expectTypeOf(error.issues[0]!.path).toEqualTypeOf<string>();
    }
    if (isTargetHttpError(error)) {
      expectTypeOf(error).toEqualTypeOf<TargetHttpError>();
      expectTypeOf(error.status).toEqualTypeOf<number>();
    }
    if (isTargetRejectedError(error)) expectTypeOf(error).toEqualTypeOf<TargetRejectedError>();
    if (isTargetTimeoutError(error)) expectTypeOf(error).toEqualTypeOf<TargetTimeoutError>();
    if (isTargetNetworkError(error)) expectTypeOf(error).toEqualTypeOf<TargetNetworkError>();
    if (isTargetResponseError(error)) expectTypeOf(error).toEqualTypeOf<TargetResponseError>();
    if (isTargetQuotaError(error)) {
      expectTypeOf(error).toEqualTypeOf<TargetQuotaError>();
      expectTypeOf(error.retryAfter).toEqualTypeOf<number>();
    }
    if (isTargetBulkUpdateError(error)) {
      expectTypeOf(error).toEqualTypeOf<TargetBulkUpdateError>();
      expectTypeOf(error.report).toEqualTypeOf<BulkReport>();
    }
  });

  it("every error is a TargetProfileError and an Error", () => {
    for (const ErrorClass of [
      TargetValidationError,
      TargetHttpError,
      TargetRejectedError,
      TargetTimeoutError,
      TargetNetworkError,
      TargetResponseError,
      TargetBulkUpdateError,
      TargetQuotaError,
    ]) {
      expectTypeOf<InstanceType<typeof ErrorClass>>().toExtend<TargetProfileError>();
    }
    expectTypeOf<TargetProfileError>().toExtend<Error>();
  });

  it("a narrowed error offers no field it does not have", () => {
    const error: unknown = undefined;
    if (isTargetValidationError(error)) {
      // @ts-expect-error: a validation error has no HTTP status
      void error.status;
    }
    // @ts-expect-error: without a guard, `unknown` offers nothing
    void error.status;
  });
});

describe("the emulator", () => {
  it("its fetch is assignable to the client's fetch option", () => {
    const emulator = createTargetEmulator({ clientCode: "acme" });
    expectTypeOf(emulator.fetch).toExtend<NonNullable<TargetClientOptions["fetch"]>>();
    assertType<TargetClientOptions>({ clientCode: "acme", fetch: emulator.fetch });
    expectTypeOf(createTargetClient({ clientCode: "acme", fetch: emulator.fetch })).toEqualTypeOf(target);
  });

  it('takes the visibility delay as per-kind milliseconds or "realistic", and the strict batch reading', () => {
    assertType<TargetEmulatorOptions>({ visibilityDelay: { singleUpdate: 60_000, batch: 3_600_000 } });
    assertType<TargetEmulatorOptions>({ visibilityDelay: "realistic", consecutiveBatches: "replace" });
    // @ts-expect-error: only "realistic" is named
    assertType<TargetEmulatorOptions>({ visibilityDelay: "slow" });
    assertType<TargetClientOptions>({ clientCode: "acme", usesEcid: true });
    assertType<TargetClientOptions>({ clientCode: "acme", streamUploads: true });
  });

  it("the client's fetch option takes the platform's fetch, and no non-function", () => {
    assertType<TargetClientOptions>({ clientCode: "acme", fetch: globalThis.fetch });
    // @ts-expect-error: fetch must be a function
    assertType<TargetClientOptions>({ clientCode: "acme", fetch: "https://example.com" });
  });
});

describe("one name, one meaning", () => {
  it("the emulator's ProfileLookup is the core's", () => {
    expectTypeOf<EmulatorProfileLookup>().toEqualTypeOf<ProfileLookup>();
    expectTypeOf(createTargetEmulator().getProfile).parameter(0).toEqualTypeOf<ProfileLookup>();
  });

  it("a relay error's code is the relay's or the client's, one union", () => {
    const error: unknown = undefined;
    if (isTargetRelayError(error)) expectTypeOf(error.code).toEqualTypeOf<TargetRelayErrorCode>();
    expectTypeOf<RelayErrorCode>().toExtend<TargetRelayErrorCode>();
    assertType<TargetRelayErrorCode>("rate_limited");
    assertType<TargetRelayErrorCode>("network_error");
    // @ts-expect-error: not a code the relay or its client uses
    assertType<TargetRelayErrorCode>("teapot");
  });
});
