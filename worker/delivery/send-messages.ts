import { jsonBytes } from "./bundles.js";
import type { QueueMessage } from "./queue-messages.js";

// Cloudflare's limits for one sendBatch call: 100 messages and 256 KB (here with some room).
const MAX_SEND_BATCH_MESSAGES = 100;
const MAX_SEND_BATCH_BYTES = 250_000;

/**
 * Sends messages as JSON, in as few sendBatch calls as the limits allow. Resolves once the queue
 * holds them all, durably; rejects if any call fails (the messages already sent stay sent).
 */
export async function sendMessages(
  queue: Queue,
  messages: readonly QueueMessage[],
  options: { delaySeconds?: number } = {},
): Promise<void> {
  let chunk: MessageSendRequest[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length > 0) await queue.sendBatch(chunk, options);
    chunk = [];
    bytes = 0;
  };
  for (const body of messages) {
    const size = jsonBytes(body);
    if (chunk.length === MAX_SEND_BATCH_MESSAGES || bytes + size > MAX_SEND_BATCH_BYTES) await flush();
    chunk.push({ body, contentType: "json" });
    bytes += size;
  }
  await flush();
}
