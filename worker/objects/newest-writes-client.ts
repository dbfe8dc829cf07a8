// The Worker's side of NewestWrites (newest-writes.ts): writes spread over the objects by their
// visitor's shard, one call per shard, in parallel, and each answer put back in the writes' order.
import type { Write } from "../delivery/writes.js";
import type { Admission, CreationState, NewestWrites, Version } from "./newest-writes.js";
import { shardOf } from "./shard.js";

/** How many objects the versions are spread over. Fixed: changing it would lose the versions on record. */
export const SHARDS = 32;

/** Admits writes (`NewestWrites.admit`): each write's admission, in order. */
export async function admitWrites(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
): Promise<Admission[]> {
  const now = Date.now();
  const shards = await eachShard(namespace, writes, (shard, versions) => shard.admit(versions, now));
  const admissions = new Array<Admission>(writes.length);
  for (const { indexes, answer } of fulfilled(shards)) {
    indexes.forEach((index, position) => (admissions[index] = answer[position] as Admission));
  }
  return admissions;
}

/**
 * Admits writes for a direct send (`NewestWrites.admitDirect`), all or none: true when they may go
 * now, under a lease until `leaseUntil`; `creates` when the send creates missing profiles (a v2 batch). Shards answer on their own, so a shard's admissions are
 * released when another refuses or fails (a failure is then rethrown).
 */
export async function admitDirectWrites(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
  leaseUntil: number,
  creates = false,
): Promise<boolean> {
  const now = Date.now();
  const shards = await eachShard(namespace, writes, (shard, versions) =>
    shard.admitDirect(versions, leaseUntil, now, creates),
  );
  if (shards.every((shard) => shard.answer === true)) return true;
  // Best effort: what is not released now is taken back when its lease runs out.
  const admitted = shards.flatMap(({ indexes, answer }) => (answer === true ? indexes : []));
  await releaseWrites(
    namespace,
    admitted.map((index) => writes[index] as Write),
  ).catch(() => {});
  fulfilled(shards);
  return false;
}

/** Takes back direct admissions whose send failed (`NewestWrites.release`). */
export async function releaseWrites(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
): Promise<void> {
  fulfilled(await eachShard(namespace, writes, (shard, versions) => shard.release(versions)));
}

/** Confirms writes Target accepted (`NewestWrites.confirm`). */
export async function confirmWrites(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
): Promise<void> {
  fulfilled(await eachShard(namespace, writes, (shard, versions) => shard.confirm(versions)));
}

/** Takes back confirmations of writes Target reported as failed (`NewestWrites.retract`). */
export async function retractWrites(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
): Promise<void> {
  fulfilled(await eachShard(namespace, writes, (shard, versions) => shard.retract(versions)));
}

/** Notes that writes creating these visitors' profiles are on their way (`NewestWrites.expectCreations`). */
export async function expectCreations(namespace: DurableObjectNamespace<NewestWrites>, visitors: Iterable<string>) {
  const now = Date.now();
  await eachVisitorShard(namespace, visitors, (shard, ids) => shard.expectCreations(ids, now));
}

/** Each visitor's creation state, where there is one (`NewestWrites.creationStates`). */
export async function creationStates(
  namespace: DurableObjectNamespace<NewestWrites>,
  visitors: Iterable<string>,
): Promise<Map<string, CreationState>> {
  const now = Date.now();
  const states = new Map<string, CreationState>();
  await eachVisitorShard(namespace, visitors, async (shard, ids) => {
    const found = await shard.creationStates(ids, now);
    ids.forEach((id, index) => {
      const state = found[index];
      if (state !== null && state !== undefined) states.set(id, state);
    });
  });
  return states;
}

/**
 * Notes these visitors as `promised` when none of them has a creation state (`NewestWrites.claimCreations`),
 * shard by shard: true when every shard did. A shard that did not leaves the others' visitors `promised`,
 * which is what the queue, where the batch then goes, makes of batch-route writes anyway.
 */
export async function claimCreations(namespace: DurableObjectNamespace<NewestWrites>, visitors: Iterable<string>) {
  const now = Date.now();
  const claimed = await eachVisitorShard(namespace, visitors, (shard, ids) => shard.claimCreations(ids, now));
  return claimed.every(Boolean);
}

/** Takes back a claim whose batch failed (`NewestWrites.releaseCreations`). */
export async function releaseCreations(namespace: DurableObjectNamespace<NewestWrites>, visitors: Iterable<string>) {
  await eachVisitorShard(namespace, visitors, (shard, ids) => shard.releaseCreations(ids));
}

/** Records what became of these visitors' creation (`NewestWrites.recordCreations`). */
export async function recordCreations(
  namespace: DurableObjectNamespace<NewestWrites>,
  visitors: Iterable<string>,
  state: CreationState,
) {
  const now = Date.now();
  await eachVisitorShard(namespace, visitors, (shard, ids) => shard.recordCreations(ids, state, now));
}

/** `call` once per shard with its visitors, in parallel; rejects when any shard failed. */
function eachVisitorShard<T>(
  namespace: DurableObjectNamespace<NewestWrites>,
  visitors: Iterable<string>,
  call: (shard: DurableObjectStub<NewestWrites>, visitors: string[]) => Promise<T>,
): Promise<T[]> {
  const byShard = new Map<number, string[]>();
  for (const visitor of new Set(visitors)) {
    const shard = shardOf(visitor, SHARDS);
    const ids = byShard.get(shard);
    if (ids === undefined) byShard.set(shard, [visitor]);
    else ids.push(visitor);
  }
  return Promise.all([...byShard].map(([shard, ids]) => call(namespace.getByName(`shard-${shard}`), ids)));
}

/** What one shard's call did: for the writes at `indexes`, its answer, or why it failed. */
type ShardOutcome<T> =
  Answered<T> | { readonly indexes: readonly number[]; readonly answer?: undefined; readonly failure: unknown };
type Answered<T> = { readonly indexes: readonly number[]; readonly answer: T };

/**
 * The one fan-out: `call` once per shard with its writes' versions, all in parallel, each shard's
 * outcome kept whatever the others do (a caller may have to undo what some shards did).
 */
function eachShard<T>(
  namespace: DurableObjectNamespace<NewestWrites>,
  writes: readonly Write[],
  call: (shard: DurableObjectStub<NewestWrites>, versions: Version[]) => Promise<T>,
): Promise<ShardOutcome<T>[]> {
  return Promise.all(
    [...shardsOf(writes)].map(async ([shard, indexes]): Promise<ShardOutcome<T>> => {
      const versions = indexes.map((index) => versionOf(writes[index] as Write));
      try {
        return { indexes, answer: await call(namespace.getByName(`shard-${shard}`), versions) };
      } catch (failure) {
        return { indexes, failure };
      }
    }),
  );
}

/** The shards' answers; throws the first failure, when one failed. */
function fulfilled<T>(shards: readonly ShardOutcome<T>[]): Answered<T>[] {
  const answered: Answered<T>[] = [];
  for (const shard of shards) {
    if ("failure" in shard) throw shard.failure;
    answered.push(shard);
  }
  return answered;
}

/** The writes' indexes, by shard. */
function shardsOf(writes: readonly Write[]): Map<number, number[]> {
  const shards = new Map<number, number[]>();
  writes.forEach((write, index) => {
    const shard = shardOf(write.mbox3rdPartyId, SHARDS);
    const indexes = shards.get(shard);
    if (indexes === undefined) shards.set(shard, [index]);
    else indexes.push(index);
  });
  return shards;
}

const versionOf = ({ mbox3rdPartyId: visitor, name: attribute, receivedAt, id }: Write): Version => ({
  visitor,
  attribute,
  receivedAt,
  id,
});
