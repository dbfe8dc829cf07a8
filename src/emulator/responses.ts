// Answer builders. The m2 endpoints speak XML, the REST fetch speaks JSON.

export type AnswerFormat = "xml" | "json";

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char]!);
}

export function xmlResponse(status: number, xml: string, headers?: Record<string, string>): Response {
  return new Response(xml, { status, headers: { ...headers, "content-type": "text/xml" } });
}

export function jsonResponse(status: number, value: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(value), { status, headers: { ...headers, "content-type": "application/json" } });
}

/** An error answer in the endpoint's own format. */
export function refusal(
  format: AnswerFormat,
  status: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return format === "json"
    ? jsonResponse(status, { status, message }, headers)
    : xmlResponse(
        status,
        `<response><success>false</success><message>${escapeXml(message)}</message></response>`,
        headers,
      );
}

export function isFormBody(request: Request): boolean {
  const type = request.headers.get("content-type") ?? "";
  return type.split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
}
