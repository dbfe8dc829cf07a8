import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { createTargetEmulator, type TargetEmulator, type TargetEmulatorOptions } from "../../src/emulator/index.js";
import type { QueueMessage } from "../../worker/delivery/queue-messages.js";
import type { Env } from "../../worker/env.js";
import { deadLetterStoreOf } from "../../worker/objects/dead-letter-store.js";
import { handleQueue, QUEUES } from "../../worker/queue/handle-queue.js";
import { seededRandom } from "../seeded-random.js";
import { envWith, TARGET_TOKEN } from "./helpers.js";

export { seededRandom };

export { QUEUES };

/** A message as a queue keeps it: its id, attempts so far, and JSON body. */
export interface Held {
  readonly id: string;
  readonly body: unknown;
  readonly attempts: number;
  /** Virtual seconds (QueueSimulator): when it may be delivered. */
  readonly dueAt: number;
}

/** A queue binding that keeps what is sent to it (JSON round trip, as on the wire), and can be made to fail. */
export function recordingQueue(onSend?: (message: Held, delaySeconds: number) => void) {
  const sent: { body: QueueMessage; delaySeconds: number }[] = [];
  let failing = false;
  let sequence = 0;
  const keep = (body: unknown, delaySeconds: number) => {
    const copy = JSON.parse(JSON.stringify(body)) as QueueMessage;
    sent.push({ body: copy, delaySeconds });
    onSend?.({ id: `msg-${++sequence}`, body: copy, attempts: 1, dueAt: 0 }, delaySeconds);
  };
  const binding = {
    async send(body: unknown, options: QueueSendOptions = {}) {
      if (failing) throw new Error("Queue send failed: canary-queue-error");
      keep(body, options.delaySeconds ?? 0);
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options: QueueSendBatchOptions = {}) {
      if (failing) throw new Error("Queue sendBatch failed: canary-queue-error");
      for (const message of messages) keep(message.body, message.delaySeconds ?? options.delaySeconds ?? 0);
    },
  } as unknown as Queue;
  return {
    binding,
    sent,
    fail(on = true) {
      failing = on;
    },
  };
}

/** A rate limit that never limits (end-to-end tests send thousands of requests with one key). */
export const unlimited = { limit: async () => ({ success: true }) } as unknown as RateLimit;

/** The relay's bindings in queue mode, with recording queues. */
export function queuedBindings(overrides: Partial<Record<keyof Env, unknown>> = {}) {
  const updates = recordingQueue();
  const deliveries = recordingQueue();
  const bindings = envWith({
    RELAY_DELIVERY: "queue",
    UPDATES_QUEUE: updates.binding,
    DELIVERIES_QUEUE: deliveries.binding,
    ...overrides,
  });
  return { bindings, updates, deliveries };
}

/** Runs the Worker's queue handler on one batch and answers what it did with each message. */
export async function consume(
  queue: string,
  messages: readonly { readonly body: unknown; readonly attempts?: number; readonly id?: string }[],
  bindings: Env,
) {
  const batch = createMessageBatch(
    queue,
    messages.map((message, index) => ({
      id: message.id ?? `msg-${index}`,
      timestamp: new Date(),
      attempts: message.attempts ?? 1,
      body: message.body,
    })),
  );
  // getQueueResult does not report retry delays: they are read off the calls.
  const delays = new Map<string, number>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, "retry", {
      value: (options?: QueueRetryOptions) => {
        delays.set(message.id, options?.delaySeconds ?? 0);
        retry(options);
      },
    });
  }
  const ctx = createExecutionContext();
  await handleQueue(batch, bindings);
  return settlementOf(
    await getQueueResult(batch, ctx),
    messages.map((message, index) => message.id ?? `msg-${index}`),
    delays,
  );
}

export interface Settlement {
  readonly acked: readonly string[];
  readonly retried: ReadonlyMap<string, number>;
  /** Messages neither acked nor retried explicitly (the relay settles every one: this stays empty). */
  readonly unsettled: readonly string[];
}

type QueueResult = {
  outcome: string;
  ackAll: boolean;
  retryBatch: { retry: boolean };
  explicitAcks: string[];
  retryMessages: { msgId: string }[];
};

function settlementOf(result: QueueResult, ids: readonly string[], delays: ReadonlyMap<string, number>): Settlement {
  expect(result.outcome).toBe("ok");
  const retried = new Map(result.retryMessages.map(({ msgId }) => [msgId, delays.get(msgId) ?? 0]));
  const acked = result.explicitAcks.filter((id) => !retried.has(id));
  return {
    acked,
    retried,
    unsettled: ids.filter(
      (id) => !retried.has(id) && !acked.includes(id) && !result.ackAll && !result.retryBatch.retry,
    ),
  };
}

/** An update message body as the producer writes it. */
export function updateMessage(
  mbox3rdPartyId: string,
  attributes: Record<string, string | number | boolean>,
  at: number,
  origin: "single" | "batch" = "single",
) {
  return { type: "update" as const, id: versionId(at), receivedAt: at, mbox3rdPartyId, attributes, origin };
}

/** A bundle message body. */
export function bundleMessage(updates: readonly ReturnType<typeof updateMessage>[]) {
  return { type: "bundle" as const, id: crypto.randomUUID(), updates: updates.map(({ type: _, ...update }) => update) };
}

let versions = 0;
/** A unique, sortable id for test versions. */
const versionId = (at: number) => `${String(at).padStart(15, "0")}-${String(++versions).padStart(6, "0")}`;

/** The dead-letter store, as the relay's routes and consumers reach it. */
export const deadLetters = () => deadLetterStoreOf(env.DEAD_LETTERS as NonNullable<Env["DEAD_LETTERS"]>);

/**
 * Adobe Target behind the global fetch, misbehaving at random (seeded): calls answer 503, time out
 * (after the call was applied: the worst case, the answer is lost), say `success=false`, and batch
 * rows fail (dropped from the batch, then listed as failed in its status; each id fails at most
 * once, so a re-enqueue gets it through). `permanent` makes every call answer 503.
 */
export function faultyTarget(options: {
  readonly random: () => number;
  readonly unavailable?: number;
  readonly timeouts?: number;
  readonly rejected?: number;
  readonly failedRows?: number;
  readonly permanent?: boolean;
  readonly emulator?: TargetEmulatorOptions;
}) {
  const { random, unavailable = 0, timeouts = 0, rejected = 0, failedRows = 0, permanent = false } = options;
  const emulator: TargetEmulator = createTargetEmulator({
    clientCode: "acme",
    token: TARGET_TOKEN,
    pollsUntilComplete: 0,
    ...options.emulator,
  });
  const failedOnce = new Set<string>();
  const failedByBatch = new Map<string, string[]>();
  const faults = { calls: 0, unavailable: 0, timeouts: 0, rejected: 0, failedRows: 0 };

  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    let request = new Request(input, init);
    faults.calls++;
    const roll = random();
    if (permanent || roll < unavailable) {
      faults.unavailable++;
      return new Response("Service Unavailable", { status: 503 });
    }
    if (roll < unavailable + timeouts) {
      faults.timeouts++;
      await emulator.fetch(request);
      // Applied, but the answer never comes: the client's timeout aborts the call.
      return new Promise<Response>((_, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true }),
      );
    }
    if (roll < unavailable + timeouts + rejected) {
      faults.rejected++;
      return new Response("<response><success>false</success><message>Unexpected error</message></response>", {
        status: 200,
      });
    }
    const path = new URL(request.url).pathname;
    let failing: string[] = [];
    if (path.endsWith("/batchUpdate") && failedRows > 0) {
      [request, failing] = await dropRows(request, (id) => !failedOnce.has(id) && random() < failedRows);
    }
    const response = await emulator.fetch(request);
    const text = await response.text();
    if (failing.length > 0) {
      for (const id of failing) failedOnce.add(id);
      faults.failedRows += failing.length;
      failedByBatch.set(/batchId=([^<&]+)/.exec(text)?.[1] as string, failing);
    }
    if (path.endsWith("/batchStatus") && text.includes("<status>complete</status>")) {
      const failed = failedByBatch.get(new URL(request.url).searchParams.get("batchId") as string) ?? [];
      const listed = failed.map((id) => `<profile><id>${id}</id><status>failed</status></profile>`).join("");
      return new Response(text.replace("</response>", `${listed}</response>`), response);
    }
    return new Response(text, response);
  });
  return { emulator, faults };
}

/** The batch request without the rows `fails` picks, and their ids. */
async function dropRows(request: Request, fails: (id: string) => boolean): Promise<[Request, string[]]> {
  const [header, ...rows] = (await request.text()).split("\n");
  const dropped: string[] = [];
  const kept = rows.filter((row) => {
    const id = decodeURIComponent(row.split(",")[0] as string);
    if (!fails(id)) return true;
    dropped.push(id);
    return false;
  });
  return [new Request(request, { body: [header, ...kept].join("\n") }), dropped];
}

interface SimulatedQueue {
  readonly name: string;
  readonly maxBatchSize: number;
  /** Seconds a due message waits for its batch to fill. */
  readonly maxBatchTimeout: number;
  readonly maxRetries: number;
  readonly deadLetterQueue?: string;
  readonly held: Held[];
}

/**
 * Cloudflare Queues, in memory and in virtual time, delivering to the Worker's real queue handler
 * through createMessageBatch: a batch once `maxBatchSize` messages are due or the oldest due one
 * waited `maxBatchTimeout`, in random order; retries after their delay (attempts counted),
 * dead-lettering after `maxRetries`, and now and then an acked message delivered again (queues
 * deliver at least once). Virtual time jumps to the next batch, so delays cost nothing.
 */
export class QueueSimulator {
  now = 0;
  readonly stats = {
    batches: 0,
    acked: new Map<string, number>(),
    retried: 0,
    redelivered: 0,
    deadLettered: 0,
    unsettled: 0,
  };
  readonly #queues = new Map<string, SimulatedQueue>();
  readonly #random: () => number;
  readonly #redeliver: number;
  readonly #clock: ((seconds: number) => void) | undefined;
  #sequence = 0;

  constructor(options: {
    readonly random: () => number;
    readonly redeliver?: number;
    readonly batchSizes?: Partial<Record<keyof typeof QUEUES, number>>;
    /** Told each time virtual time moves on (seconds since the start): to move a fake clock along. */
    readonly clock?: (seconds: number) => void;
  }) {
    this.#random = options.random;
    this.#redeliver = options.redeliver ?? 0;
    this.#clock = options.clock;
    const sizes = options.batchSizes ?? {};
    // The timeouts, retries and dead-letter queue of wrangler.toml.
    this.#add(QUEUES.updates, sizes.updates ?? 100, 2, 5, QUEUES.deadLetters);
    this.#add(QUEUES.deliveries, sizes.deliveries ?? 100, 10, 10, QUEUES.deadLetters);
    this.#add(QUEUES.deadLetters, sizes.deadLetters ?? 100, 5, 100);
  }

  #add(name: string, maxBatchSize: number, maxBatchTimeout: number, maxRetries: number, deadLetterQueue?: string) {
    this.#queues.set(name, {
      name,
      maxBatchSize,
      maxBatchTimeout,
      maxRetries,
      ...(deadLetterQueue ? { deadLetterQueue } : {}),
      held: [],
    });
  }

  /** When the queue next hands out a batch: once it is full, or its oldest due message waited the timeout. */
  #nextBatchAt(queue: SimulatedQueue): number {
    const due = queue.held.map((message) => message.dueAt).sort((a, b) => a - b);
    const full = due.length >= queue.maxBatchSize ? (due[queue.maxBatchSize - 1] as number) : Infinity;
    return Math.min(full, (due[0] as number) + queue.maxBatchTimeout);
  }

  /** A producer binding for one of the queues. */
  binding(name: string) {
    const queue = this.#queues.get(name) as SimulatedQueue;
    return recordingQueue((message, delaySeconds) =>
      queue.held.push({ ...message, id: `sim-${++this.#sequence}`, dueAt: this.now + delaySeconds }),
    ).binding;
  }

  /** Messages a queue still holds. */
  held(name: string): readonly Held[] {
    return (this.#queues.get(name) as SimulatedQueue).held;
  }

  /** Delivers until every queue is empty (or `maxBatches` were delivered). */
  async drain(bindings: Env, maxBatches = 10_000): Promise<void> {
    while (this.stats.batches < maxBatches) {
      const queues = [...this.#queues.values()].filter((queue) => queue.held.length > 0);
      if (queues.length === 0) return;
      const ready = queues.filter((queue) => this.#nextBatchAt(queue) <= this.now);
      if (ready.length === 0) {
        this.now = Math.min(...queues.map((queue) => this.#nextBatchAt(queue)));
        this.#clock?.(this.now);
        continue;
      }
      for (const queue of ready) await this.#deliver(queue, bindings);
    }
  }

  async #deliver(queue: SimulatedQueue, bindings: Env) {
    const ready = queue.held.filter((message) => message.dueAt <= this.now);
    const batch = shuffle(ready, this.#random).slice(0, queue.maxBatchSize);
    queue.held.splice(0, queue.held.length, ...queue.held.filter((message) => !batch.includes(message)));
    this.stats.batches++;
    const { acked, retried, unsettled } = await consume(queue.name, batch, bindings);
    this.stats.unsettled += unsettled.length;
    this.stats.acked.set(queue.name, (this.stats.acked.get(queue.name) ?? 0) + acked.length);
    for (const message of batch) {
      const delay = retried.get(message.id);
      if (delay === undefined) {
        if (this.#random() < this.#redeliver) {
          this.stats.redelivered++;
          queue.held.push({ ...message, dueAt: this.now + 1 });
        }
      } else if (message.attempts > queue.maxRetries) {
        this.stats.deadLettered++;
        const deadLetters = this.#queues.get(queue.deadLetterQueue as string) as SimulatedQueue;
        deadLetters.held.push({ ...message, attempts: 1, dueAt: this.now });
      } else {
        this.stats.retried++;
        queue.held.push({ ...message, attempts: message.attempts + 1, dueAt: this.now + delay });
      }
    }
  }
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

/** Target's answers as the emulator stores them (strings), per visitor. */
export function storedAttributes(
  emulator: TargetEmulator,
  ids: Iterable<string>,
): Record<string, Record<string, string>> {
  return Object.fromEntries([...ids].map((id) => [id, emulator.getProfile({ thirdPartyId: id })?.attributes ?? {}]));
}
