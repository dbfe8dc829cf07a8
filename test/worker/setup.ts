// Every relay test starts with no unfinished batches: a test that submits batches without running their
// follow-ups (which give each batch's slot back, worker/delivery/batch-slots.ts) must not leave the next
// ones at Target's limit of 10 batch statuses.
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import type { Env } from "../../worker/env.js";
import type { TargetQuotas } from "../../worker/objects/target-quotas.js";

beforeEach(async () => {
  const quotas = env.TARGET_QUOTAS as NonNullable<Env["TARGET_QUOTAS"]>;
  for (const id of await listDurableObjectIds(quotas)) {
    await runInDurableObject(quotas.get(id), (_: TargetQuotas, state: DurableObjectState) => {
      state.storage.sql.exec("DELETE FROM batch_submissions");
    });
  }
});
