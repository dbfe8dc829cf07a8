// A fetch handler (the emulator's) served over HTTP with node:http.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { finished } from "node:stream";

export interface Served {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `handler` on `host:port` (port 0: a free one). Each request's URL keeps the Host it came with. */
export async function serve(
  handler: (request: Request) => Promise<Response>,
  { host, port }: { host: string; port: number },
): Promise<Served> {
  const server = createServer((incoming, outgoing) => {
    answer(handler, incoming, outgoing, host).catch((error: unknown) => {
      outgoing.statusCode = 500;
      outgoing.end(String(error instanceof Error ? error.name : "error"));
    });
  });
  // Batch files of 50 MB take a while to arrive on a busy machine.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function answer(
  handler: (request: Request) => Promise<Response>,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  host: string,
): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const method = incoming.method ?? "GET";
  const url = `http://${incoming.headers.host ?? host}${incoming.url ?? "/"}`;
  // The body streams into the request as it arrives: a 50 MB batch is then copied once, by the
  // handler reading it, rather than also gathered here and copied again into the request.
  // (`duplex`, which a streamed body needs, is missing from this TypeScript's RequestInit.)
  const bodied = method !== "GET" && method !== "HEAD";
  if (!bodied) incoming.resume();
  const init: RequestInit & { duplex?: "half" } = {
    method,
    headers,
    ...(bodied ? { body: bodyStream(incoming), duplex: "half" } : {}),
  };
  const request = new Request(url, init);
  const response = await handler(request);
  outgoing.statusCode = response.status;
  response.headers.forEach((value, name) => outgoing.setHeader(name, value));
  outgoing.end(Buffer.from(await response.arrayBuffer()));
}

/**
 * The request's body as a web stream of the very chunks Node reads. Not `Readable.toWeb`, which
 * copies each chunk into a new buffer first: for a 50 MB batch, 800 allocations and a copy of it
 * all, in the process that then copies it again into one buffer.
 */
function bodyStream(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        incoming.on("data", (chunk: Buffer) => {
          controller.enqueue(chunk);
          // Node stops reading the socket until the handler asks for more.
          if (controller.desiredSize! <= 0) incoming.pause();
        });
        finished(incoming, (error) => {
          // A client gone before its body's end errs the body, as with Readable.toWeb.
          if (error) controller.error(error);
          else controller.close();
        });
        incoming.on("error", () => {});
      },
      pull() {
        incoming.resume();
      },
      cancel(reason) {
        incoming.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: incoming.readableHighWaterMark }),
  );
}
