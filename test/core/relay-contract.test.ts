import { describe, expect, it } from "vitest";
import {
  canonicalRequest,
  importSigningKey,
  MAX_SIGNATURES,
  RELAY_HEADERS,
  RELAY_ROUTES,
  relayPath,
  signatureHeaders,
  signatureProblem,
  type SignedRequest,
} from "../../src/internal/index.js";

// The relay's wire contract, as both of its sides use it (src/relay/contract.ts).
describe("the relay contract", () => {
  it("fills each path parameter in as one percent-encoded segment, and refuses a missing one", () => {
    expect(relayPath(RELAY_ROUTES.profile, { mbox3rdPartyId: "crm/42 ü" })).toBe("/v1/profiles/crm%2F42%20%C3%BC");
    expect(relayPath(RELAY_ROUTES.batch, { batchId: "acme-1-2" })).toBe("/v1/batches/acme-1-2");
    expect(relayPath(RELAY_ROUTES.profiles)).toBe("/v1/profiles");
    expect(() => relayPath(RELAY_ROUTES.profile)).toThrow(/:mbox3rdPartyId/);
  });

  it("accepts what it signed, within the window, under any of the secrets", async () => {
    const request: SignedRequest = {
      method: "POST",
      url: "https://relay.example/v1/profiles/crm-1",
      body: new TextEncoder().encode('{"attributes":{"tier":"gold"}}'),
    };
    const now = Date.UTC(2026, 0, 1);
    const headers = new Headers(await signatureHeaders(await importSigningKey("secret-a", "sign"), request, now));
    const keys = await Promise.all(["secret-b", "secret-a"].map((secret) => importSigningKey(secret, "verify")));

    expect(headers.get(RELAY_HEADERS.timestamp)).toBe(String(now / 1000));
    expect(headers.get(RELAY_HEADERS.signature)).toMatch(/^v2=[0-9a-f]{64}$/);
    expect(await signatureProblem(headers, request, keys, now + 299_000)).toBeUndefined();
  });

  it("names what does not hold: the body, the window, the header's form, a missing header", async () => {
    const body = new TextEncoder().encode("{}");
    const request: SignedRequest = { method: "POST", url: "https://relay.example/v1/profiles", body };
    const now = Date.UTC(2026, 0, 1);
    const key = await importSigningKey("secret-a", "sign");
    const keys = [await importSigningKey("secret-a", "verify")];
    const headers = new Headers(await signatureHeaders(key, request, now));
    const problem = (changed: Headers, at = now, signed = request) => signatureProblem(changed, signed, keys, at);

    expect(await problem(headers, now, { ...request, body: new TextEncoder().encode("{ }") })).toBe(
      "the request signature does not match",
    );
    expect(await problem(headers, now + 301_000)).toBe(
      `${RELAY_HEADERS.timestamp} is more than 300 seconds from the relay's clock`,
    );
    expect(await problem(new Headers({ ...Object.fromEntries(headers), [RELAY_HEADERS.signature]: "v2=abc" }))).toBe(
      `${RELAY_HEADERS.signature} must be v2=<64 hex digits>`,
    );
    expect(await problem(headers, now, { ...request, method: "PUT" })).toBe("the request signature does not match");
    expect(await problem(headers, now, { ...request, url: "https://relay.example/v1/profiles?x=1" })).toBe(
      "the request signature does not match",
    );
    // The origin is not signed: a relay behind a proxy sees another host.
    expect(await problem(headers, now, { ...request, url: "http://internal:8080/v1/profiles" })).toBeUndefined();
    const many = (count: number) =>
      new Headers({
        ...Object.fromEntries(headers),
        [RELAY_HEADERS.signature]: Array.from({ length: count }, () => headers.get(RELAY_HEADERS.signature)).join(","),
      });
    expect(await problem(many(MAX_SIGNATURES))).toBeUndefined();
    expect(await problem(many(MAX_SIGNATURES + 1))).toBe(
      `${RELAY_HEADERS.signature} must hold at most ${MAX_SIGNATURES} signatures`,
    );
    expect(await problem(new Headers())).toMatch(/^missing request signature/);
  });

  it("signs the canonical form: timestamp, method, path and query as sent, body's SHA-256, one per line", async () => {
    const empty = new Uint8Array(0);

    expect(
      await canonicalRequest("1732420000", {
        method: "GET",
        url: "https://relay.example/v1/profiles/crm-42",
        body: empty,
      }),
    ).toBe("1732420000\nGET\n/v1/profiles/crm-42\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(
      await canonicalRequest("1", {
        method: "GET",
        url: "https://relay.example/v1/profiles/Jos%C3%A9%2042?a=1&b",
        body: empty,
      }),
    ).toMatch(/^1\nGET\n\/v1\/profiles\/Jos%C3%A9%2042\?a=1&b\n/);
  });
});
