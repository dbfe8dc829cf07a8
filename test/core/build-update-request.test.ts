import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  buildUpdateRequest,
  isTargetValidationError,
  MAX_GET_URL_BYTES,
  MAX_POST_BODY_BYTES,
  type ProfileUpdate,
} from "../../src/index.js";
import { ProfileUpdateSchema, singleUpdateSizeIssue } from "../../src/internal/index.js";

const endpoint = { clientCode: "acme" } as const;
const base = "https://acme.tt.omtrdc.net/m2/acme/profile/update";
// Never allowed in an error: the id, a value, the token.
const CANARY = "canary-7f3a";

function validationError(update: unknown, options: object = endpoint) {
  try {
    buildUpdateRequest(update as ProfileUpdate, { ...endpoint, ...options });
  } catch (error) {
    if (isTargetValidationError(error)) return error;
    throw error;
  }
  throw new Error("expected a validation error");
}

/** An update whose GET URL is exactly `bytes` long (ASCII value, so length is bytes). */
function updateWithUrlBytes(bytes: number): ProfileUpdate {
  const prefix = `${base}?mbox3rdPartyId=crm-1&profile.blob=`;
  return { mbox3rdPartyId: "crm-1", attributes: { blob: "x".repeat(bytes - prefix.length) } };
}

describe("buildUpdateRequest", () => {
  it("builds a GET with mbox3rdPartyId and profile.NAME pairs, UTF-8 URL-encoded", () => {
    const request = buildUpdateRequest(
      { mbox3rdPartyId: "crm 42", attributes: { tier: "gold", ltv: 1200, vip: true, city: "São Paulo & co" } },
      endpoint,
    );
    expect(request.method).toBe("GET");
    expect(request.url).toBe(
      `${base}?mbox3rdPartyId=crm%2042&profile.tier=gold&profile.ltv=1200&profile.vip=true&profile.city=S%C3%A3o%20Paulo%20%26%20co`,
    );
    expect(request.headers.get("authorization")).toBeNull();
  });

  it("keys by mboxPC and skips null and undefined attributes", () => {
    const request = buildUpdateRequest(
      { mboxPC: "1368007744041-575948.01_00", attributes: { tier: "gold", gone: null, absent: undefined } },
      endpoint,
    );
    expect(request.url).toBe(`${base}?mboxPC=1368007744041-575948.01_00&profile.tier=gold`);
  });

  it("sends the token as a Bearer header and honours baseUrl", () => {
    const request = buildUpdateRequest(
      { mbox3rdPartyId: "a", attributes: { x: 1 } },
      { clientCode: "acme", baseUrl: "http://localhost:8080/target/", token: "tok" },
    );
    expect(request.url).toBe("http://localhost:8080/target/m2/acme/profile/update?mbox3rdPartyId=a&profile.x=1");
    expect(request.headers.get("authorization")).toBe("Bearer tok");
  });

  it("uses GET while the whole URL fits in 8 KB, POST from one byte more", async () => {
    const fits = buildUpdateRequest(updateWithUrlBytes(MAX_GET_URL_BYTES), endpoint);
    expect(fits.method).toBe("GET");
    expect(fits.url.length).toBe(MAX_GET_URL_BYTES);

    const over = buildUpdateRequest(updateWithUrlBytes(MAX_GET_URL_BYTES + 1), endpoint);
    expect(over.method).toBe("POST");
    expect(over.url).toBe(base);
    expect(over.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(await over.text()).toMatch(/^mbox3rdPartyId=crm-1&profile\.blob=x+$/);
  });

  it("measures the URL as it is sent: a ' is escaped, so the limit holds after URL parsing", () => {
    const request = buildUpdateRequest({ mbox3rdPartyId: "o'hara", attributes: { quote: "'" } }, endpoint);
    expect(request.url).toBe(`${base}?mbox3rdPartyId=o%27hara&profile.quote=%27`);
    const quotes = buildUpdateRequest({ mbox3rdPartyId: "a", attributes: { q: "'".repeat(2720) } }, endpoint);
    expect(quotes.method).toBe("POST");
  });

  it("counts bytes, not characters: multi-byte text switches to POST sooner", () => {
    const request = buildUpdateRequest({ mbox3rdPartyId: "a", attributes: { t: "é".repeat(1400) } }, endpoint);
    // 1,400 characters, but 8,400 bytes once encoded (%C3%A9 each).
    expect(request.method).toBe("POST");
  });

  it("accepts a POST body of exactly 60 KB and refuses one byte more", () => {
    const prefix = "mbox3rdPartyId=crm-1&profile.blob=";
    const atLimit = { mbox3rdPartyId: "crm-1", attributes: { blob: "x".repeat(MAX_POST_BODY_BYTES - prefix.length) } };
    expect(buildUpdateRequest(atLimit, endpoint).method).toBe("POST");

    const error = validationError({
      mbox3rdPartyId: "crm-1",
      attributes: { blob: `${CANARY}${"x".repeat(MAX_POST_BODY_BYTES)}` },
    });
    expect(error.issues[0]?.path).toBe("attributes");
    expect(error.message).toContain("at most 61440");
    expect(error.message).not.toContain(CANARY);
  });

  it("its size check (no Request built) says what buildUpdateRequest would refuse, and nothing else", () => {
    const prefix = "mbox3rdPartyId=crm-1&profile.blob=";
    const atLimit = { mbox3rdPartyId: "crm-1", attributes: { blob: "x".repeat(MAX_POST_BODY_BYTES - prefix.length) } };
    const over = { mbox3rdPartyId: "crm-1", attributes: { blob: `${CANARY}${"x".repeat(MAX_POST_BODY_BYTES)}` } };

    expect(singleUpdateSizeIssue(v.parse(ProfileUpdateSchema, atLimit))).toBeUndefined();
    expect(buildUpdateRequest(atLimit, endpoint).method).toBe("POST");
    expect(singleUpdateSizeIssue(v.parse(ProfileUpdateSchema, over))).toEqual(validationError(over).issues[0]);
  });

  it("a forced method is used, and a forced GET over 8 KB is refused", () => {
    expect(
      buildUpdateRequest({ mbox3rdPartyId: "a", attributes: { x: 1 } }, { ...endpoint, method: "POST" }).method,
    ).toBe("POST");
    const error = validationError(updateWithUrlBytes(MAX_GET_URL_BYTES + 1), { method: "GET" });
    expect(error.message).toContain("send it as POST");
    expect(() =>
      buildUpdateRequest({ mbox3rdPartyId: "a", attributes: { x: 1 } }, { ...endpoint, method: "PUT" as "GET" }),
    ).toThrow(/method must be GET or POST/);
  });
});

describe("update input rules", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["no id", { attributes: { x: 1 } }, "", /exactly one of mbox3rdPartyId or mboxPC/],
    [
      "both ids",
      { mbox3rdPartyId: CANARY, mboxPC: CANARY, attributes: { x: 1 } },
      "",
      /exactly one of mbox3rdPartyId or mboxPC/,
    ],
    ["empty id", { mbox3rdPartyId: "", attributes: { x: 1 } }, "mbox3rdPartyId", /must not be empty/],
    [
      "long id",
      { mbox3rdPartyId: CANARY.repeat(30), attributes: { x: 1 } },
      "mbox3rdPartyId",
      /at most 256 characters/,
    ],
    [
      "id with +",
      { mbox3rdPartyId: `${CANARY}+1`, attributes: { x: 1 } },
      "mbox3rdPartyId",
      /must not contain '\+' or '\/'/,
    ],
    ["id with /", { mbox3rdPartyId: `${CANARY}/1`, attributes: { x: 1 } }, "mbox3rdPartyId", /must not contain/],
    ["id not a string", { mbox3rdPartyId: 42, attributes: { x: 1 } }, "mbox3rdPartyId", /must be a string/],
    ["empty mboxPC", { mboxPC: "", attributes: { x: 1 } }, "mboxPC", /must not be empty/],
    ["long mboxPC", { mboxPC: CANARY.repeat(30), attributes: { x: 1 } }, "mboxPC", /at most 256/],
    [
      "lone surrogate id",
      { mbox3rdPartyId: `${CANARY}\ud800`, attributes: { x: 1 } },
      "mbox3rdPartyId",
      /valid Unicode/,
    ],
    ["no attributes key", { mbox3rdPartyId: CANARY }, "attributes", /is required/],
    ["attributes not an object", { mbox3rdPartyId: CANARY, attributes: CANARY }, "attributes", /must be an object/],
    ["no attributes", { mbox3rdPartyId: CANARY, attributes: {} }, "attributes", /at least one attribute/],
    [
      "only null attributes",
      { mbox3rdPartyId: CANARY, attributes: { x: null } },
      "attributes",
      /at least one attribute/,
    ],
    ["empty name", { mbox3rdPartyId: CANARY, attributes: { "": CANARY } }, 'attributes[""]', /must not be empty/],
    [
      "long name",
      { mbox3rdPartyId: CANARY, attributes: { ["n".repeat(129)]: CANARY } },
      `attributes.${"n".repeat(129)}`,
      /at most 128/,
    ],
    [
      "control character",
      { mbox3rdPartyId: CANARY, attributes: { "a\tb": CANARY } },
      'attributes["a\\tb"]',
      /control characters/,
    ],
    [
      "profile. prefix",
      { mbox3rdPartyId: CANARY, attributes: { "profile.tier": CANARY } },
      'attributes["profile.tier"]',
      /drop the prefix/,
    ],
    [
      "empty string value",
      { mbox3rdPartyId: CANARY, attributes: { tier: "" } },
      "attributes.tier",
      /Target ignores empty values/,
    ],
    ["NaN", { mbox3rdPartyId: CANARY, attributes: { n: Number.NaN } }, "attributes.n", /finite number/],
    ["Infinity", { mbox3rdPartyId: CANARY, attributes: { n: Infinity } }, "attributes.n", /finite number/],
    [
      "object value",
      { mbox3rdPartyId: CANARY, attributes: { o: { secret: CANARY } } },
      "attributes.o",
      /string, a finite number or a boolean/,
    ],
    [
      "lone surrogate value",
      { mbox3rdPartyId: CANARY, attributes: { v: `${CANARY}\udc00` } },
      "attributes.v",
      /valid Unicode/,
    ],
    ["unknown field", { mbox3rdPartyId: CANARY, attributes: { x: 1 }, extra: CANARY }, "extra", /unknown field/],
    ["not an object", CANARY, "", /must be an object/],
  ];

  it.each(cases)("%s: names %j and the rule, never the data", (_name, update, path, rule) => {
    const error = validationError(update);
    const issue = error.issues.find((candidate) => candidate.path === path);
    expect(issue?.message).toMatch(rule);
    expect(JSON.stringify({ message: error.message, issues: error.issues, cause: error.cause })).not.toContain(CANARY);
  });

  it("a 128-character name and a 256-character id are fine", () => {
    const request = buildUpdateRequest(
      { mbox3rdPartyId: "i".repeat(256), attributes: { ["n".repeat(128)]: "v" } },
      endpoint,
    );
    expect(request.method).toBe("GET");
  });
});
