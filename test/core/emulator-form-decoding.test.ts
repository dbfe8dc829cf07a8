import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeFormComponent, decodePathSegment, parseForm } from "../../src/emulator/form-decoding.js";

describe("emulator form decoding", () => {
  it("turns + into a space and %XX into UTF-8 bytes", () => {
    expect(decodeFormComponent("S%C3%A3o+Paulo")).toBe("São Paulo");
    expect(decodeFormComponent("%f0%9f%98%80%2B")).toBe("😀+");
    expect(decodeFormComponent("plain")).toBe("plain");
  });

  it("keeps + literal in path segments", () => {
    expect(decodePathSegment("a+b%20c")).toBe("a+b c");
  });

  it("keeps an encoded byte order mark", () => {
    expect(decodeFormComponent("%EF%BB%BFx")).toBe("\uFEFFx");
  });

  it.each(["%", "%4", "a%zz", "%G1", "%C3", "%C0%80", "%ED%A0%80", "%FF"])("throws URIError on %s", (text) => {
    expect(() => decodeFormComponent(text)).toThrow(URIError);
  });

  it("undoes encodeURIComponent for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(decodeFormComponent(encodeURIComponent(text))).toBe(text);
        expect(decodeFormComponent(encodeURIComponent(text).replaceAll("%20", "+"))).toBe(text);
        expect(decodePathSegment(encodeURIComponent(text))).toBe(text);
      }),
    );
  });

  it("splits fields on & and the first =, in order", () => {
    expect(parseForm("a=1&&b=x%3Dy=z&flag&a=2&=v")).toEqual([
      ["a", "1"],
      ["b", "x=y=z"],
      ["flag", ""],
      ["a", "2"],
      ["", "v"],
    ]);
    expect(() => parseForm("a=1&b=%")).toThrow(URIError);
  });
});
