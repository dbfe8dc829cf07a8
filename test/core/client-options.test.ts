import { describe, expect, it } from "vitest";
import { createTargetClient, isTargetValidationError, type TargetClientOptions } from "../../src/index.js";

function optionError(options: unknown) {
  try {
    createTargetClient(options as TargetClientOptions);
  } catch (error) {
    if (isTargetValidationError(error)) return error;
    throw error;
  }
  throw new Error("expected a validation error");
}

describe("createTargetClient options", () => {
  it("accepts the minimal options", () => {
    expect(typeof createTargetClient({ clientCode: "acme" }).updateProfile).toBe("function");
  });

  it.each([
    [{}, "clientCode", "is required"],
    [{ clientCode: "" }, "clientCode", "DNS label"],
    [{ clientCode: "ac me" }, "clientCode", "DNS label"],
    [{ clientCode: "-acme" }, "clientCode", "DNS label"],
    [{ clientCode: "a".repeat(64) }, "clientCode", "at most 63"],
    [{ clientCode: "acme", baseUrl: "not a url" }, "baseUrl", "absolute URL"],
    [{ clientCode: "acme", baseUrl: "ftp://x.example" }, "baseUrl", "http or https"],
    [{ clientCode: "acme", baseUrl: "https://x.example/?a=1" }, "baseUrl", "query"],
    [{ clientCode: "acme", token: "" }, "token", "must not be empty"],
    [{ clientCode: "acme", fetch: "fetch" }, "fetch", "function"],
    [{ clientCode: "acme", timeout: -1 }, "timeout", "negative"],
    [{ clientCode: "acme", timeout: 1.5 }, "timeout", "whole number"],
    [{ clientCode: "acme", retry: -1 }, "retry", "retry"],
    [{ clientCode: "acme", retry: { limit: 1, jitter: true } }, "retry.jitter", "unknown retry option"],
    [{ clientCode: "acme", bulkCallsPerMinute: 51 }, "bulkCallsPerMinute", "at most 50"],
    [{ clientCode: "acme", streamUploads: "yes" }, "streamUploads", "true or false"],
    [{ clientCode: "acme", tokn: "x" }, "tokn", "unknown option"],
  ])("refuses %j naming %s", (options, path, rule) => {
    const error = optionError(options);
    expect(error.issues.map((issue) => issue.path)).toContain(path);
    expect(error.message).toContain(rule);
  });

  it("a clientCode of 63 characters is a valid DNS label", () => {
    expect(() => createTargetClient({ clientCode: "a".repeat(63) })).not.toThrow();
  });

  it("never echoes the token in an option error", () => {
    const error = optionError({ clientCode: "acme", token: 42 });
    expect(error.issues).toEqual([{ path: "token", message: "token must be a string" }]);
  });
});
