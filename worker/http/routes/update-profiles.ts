import * as v from "valibot";
import { encodeBatches, type ProfileUpdate } from "../../../src/index.js";
import { ProfileUpdateSchema, formatPath, parseOrThrow } from "../../../src/internal/index.js";
import { refuseUnlistedAttributes } from "../../auth/attribute-allow-list.js";
import { queueUnavailable } from "../../delivery/deliver-update.js";
import type { ProtectedEndpoint } from "../route-handler.js";
import { jsonResponse } from "../json-response.js";
import { UpdateTooLargeError } from "../../delivery/bundles.js";
import { enqueueBundles, toQueuedUpdate } from "../../delivery/enqueue.js";
import { scheduleFollowUp } from "../../queue/follow-up-batch.js";
import { sendInOrder } from "../../delivery/ordered-send.js";
import { writesOf } from "../../delivery/writes.js";
import { RelayError } from "../../relay-error.js";
import type { RequestLog } from "../request-log.js";

const UpdateSchema = v.pipe(
  ProfileUpdateSchema,
  v.check((update) => update.idType === "thirdPartyId", "the relay takes updates keyed by mbox3rdPartyId"),
);

const BodySchema = v.strictObject(
  {
    updates: v.pipe(
      v.array(UpdateSchema, "must be an array of { mbox3rdPartyId, attributes }"),
      v.nonEmpty("must hold at least one update"),
    ),
  },
  (issue) =>
    issue.expected === "never"
      ? "unknown field: the body takes only updates"
      : issue.path
        ? "is required"
        : "the body must be { updates }",
);

/**
 * `POST /v1/profiles` with `{ updates: [{ mbox3rdPartyId, attributes }, ...] }`: one v2 batch file,
 * which also creates missing profiles. Updates that need more than one file are refused (413).
 *
 * With queued delivery (queue or auto), the updates are queued instead, each stamped on its own,
 * and the answer is `202 { requestId, rows, queued }`. They go straight to the deliveries queue,
 * packed into bundles (sendBatch): they are many already, so they need no gathering, and in the
 * queue their rows share bulk calls with everyone else's, within the one bulk budget the consumer
 * keeps, and are ordered against the single updates of the same visitors. Sent directly, a batch
 * could overwrite a newer queued write, and its call would bypass that budget. In direct delivery
 * with the queues bound, the batch goes at once in order with them (ordered-send.ts) and is followed
 * up like a queued one, or is queued after what they carry of the same visitors.
 */
export const updateProfiles: ProtectedEndpoint = {
  scopes: ["write"],
  maxBodyBytes: 4 * 1024 * 1024,
  idempotent: true,
  async handle({ requestId, body, config, log }) {
    const checked = parseOrThrow(BodySchema, body).updates;
    // Valid now, so the input is what the core encodes (it keeps numbers and booleans as sent).
    const updates = (body as { readonly updates: readonly ProfileUpdate[] }).updates;
    refuseUnlistedAttributes(config.allowedAttributes, updates, (index, name) =>
      formatPath([{ key: "updates" }, { key: index }, { key: "attributes" }, { key: name }]),
    );
    log.updates = updates.length;
    log.attributes = checked.reduce((sum, update) => sum + update.attributes.length, 0);

    const files = encodeBatches(updates, { maxRows: config.maxBatchRows });
    const file = files.next().value;
    if (file === undefined || !files.next().done) {
      throw new RelayError(
        413,
        "payload_too_large",
        `the updates need more than one batch file: send at most ${config.maxBatchRows} distinct mbox3rdPartyIds per request`,
      );
    }
    log.rows = file.rows;

    const { queued } = config;
    if (queued !== undefined) {
      const stamped = updates.map(({ mbox3rdPartyId, attributes }) =>
        toQueuedUpdate(mbox3rdPartyId as string, attributes, "batch"),
      );
      if (config.delivery === "direct") {
        let batchId = "";
        const send = async (signal: AbortSignal) => {
          const submission = await config.target.submitBatch(file, { version: 2, signal });
          batchId = submission.batchId;
          // Followed up like a queued batch: the rows Target fails are queued again.
          await scheduleFollowUp(queued, submission, stamped);
        };
        const sent = await sendInOrder(queued.newestWrites, writesOf(stamped), send);
        // Sent; queued again only to be recorded as delivered (a repeat of the same values).
        if (sent === "unconfirmed") await enqueueBundles(queued, stamped).catch(() => {});
        if (sent !== "queue") return submitted(requestId, batchId, file.rows, log);
      }
      try {
        await enqueueBundles(queued, stamped);
      } catch (error) {
        if (error instanceof UpdateTooLargeError)
          throw new RelayError(413, "payload_too_large", `${error.message}: send it alone`);
        throw queueUnavailable();
      }
      log.delivery = "queued";
      return jsonResponse(202, { requestId, rows: file.rows, queued: stamped.length });
    }

    const { batchId } = await config.target.submitBatch(file, { version: 2 });
    return submitted(requestId, batchId, file.rows, log);
  },
};

function submitted(requestId: string, batchId: string, rows: number, log: RequestLog): Response {
  log.delivery = "direct";
  return jsonResponse(202, { requestId, batchId, rows }, { location: `/v1/batches/${encodeURIComponent(batchId)}` });
}
