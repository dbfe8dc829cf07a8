import { describe, expect, it } from "vitest";
import { createTargetEmulator } from "../../src/emulator/index.js";
import { networkFailureKind } from "../../src/client/http.js";
import { createTargetClient, isTargetHttpError, isTargetNetworkError } from "../../src/index.js";
import { failure } from "./support.js";

const update = { mbox3rdPartyId: "crm-1", attributes: { tier: "gold" } };

describe("a 401", () => {
  it("says whether the token was missing or refused, never showing it", async () => {
    const emulator = createTargetEmulator({ clientCode: "acme", token: "right-token" });
    const without = createTargetClient({ clientCode: "acme", fetch: emulator.fetch, retry: 0 });
    const missing = await failure(without.submitBatch("batch=thirdPartyId,a\nx,1"));
    expect(isTargetHttpError(missing) && missing.status).toBe(401);
    expect(missing.message).toBe(
      "Target answered HTTP 401 to submitBatch (POST): the account requires a token and none was configured",
    );

    const wrong = createTargetClient({
      clientCode: "acme",
      token: "canary-token-4d2f",
      fetch: emulator.fetch,
      retry: 0,
    });
    const refused = await failure(wrong.getProfile({ thirdPartyId: "crm-1" }));
    expect(refused.message).toBe(
      "Target answered HTTP 401 to getProfile (GET): the token was refused (wrong or expired)",
    );
    expect(JSON.stringify({ ...refused, message: refused.message })).not.toContain("canary-token-4d2f");
  });
});

describe("a network failure", () => {
  it("says what kind it was, from the runtime's codes and messages, never the URL", async () => {
    const refusing = async (): Promise<Response> => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9 https://acme.tt.omtrdc.net/?id=crm-1"), {
          code: "ECONNREFUSED",
        }),
      });
    };
    const target = createTargetClient({ clientCode: "acme", fetch: refusing, retry: 0 });
    const error = await failure(target.updateProfile(update));
    expect(isTargetNetworkError(error) && error.kind).toBe("refused");
    expect(error.message).toBe("updateProfile (GET) could not reach Target: the connection was refused");
    expect(error.cause).toBeUndefined();
  });

  it.each([
    [{ cause: { code: "ENOTFOUND" } }, "dns"],
    [{ cause: { code: "EAI_AGAIN" } }, "dns"],
    [{ cause: { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", message: "unable to verify the first certificate" } }, "tls"],
    [{ cause: { code: "ERR_TLS_CERT_ALTNAME_INVALID" } }, "tls"],
    [{ cause: { code: "ECONNRESET" } }, "reset"],
    [{ cause: { code: "UND_ERR_SOCKET", message: "other side closed" } }, "reset"],
    [{ cause: { code: "UND_ERR_CONNECT_TIMEOUT" } }, "timeout"],
    [{ message: "error sending request: Connection refused (os error 111)" }, "refused"],
    [{ message: "dns error: failed to lookup address information: Name or service not known" }, "dns"],
    [{ message: "Network connection lost." }, "reset"],
    [{ code: "ConnectionRefused" }, "refused"],
    [{ name: "TypeError", message: "Failed to fetch" }, "unknown"],
  ])("%o is %s", (error, kind) => {
    expect(networkFailureKind(error)).toBe(kind);
  });
});
