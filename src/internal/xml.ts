// Just enough XML for Target's answers, which are flat, fixed-shape `<response>` documents.
// A full parser would triple the bundle for the four tags we read.

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeText(text: string): string {
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(text.trim());
  if (cdata) return cdata[1] as string;
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body[0] === "#") {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return ENTITIES[body.toLowerCase()] ?? entity;
  });
}

const elementPattern = (name: string) => new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");

/** The raw inner XML of every `<name>` element, in order. */
export function xmlElements(xml: string, name: string): string[] {
  return Array.from(xml.matchAll(elementPattern(name)), (match) => match[1] ?? "");
}

/** The decoded text of the first `<name>` element, or `undefined` when there is none. */
export function xmlText(xml: string, name: string): string | undefined {
  const [first] = xmlElements(xml, name);
  return first === undefined ? undefined : decodeText(first).trim();
}
