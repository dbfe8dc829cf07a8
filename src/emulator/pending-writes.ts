// Target's asynchrony: an accepted update or batch is applied later ("generally in under one hour").
// Writes wait here until their time, on the emulator's own clock, and are applied lazily before any
// call or inspection reads the store: no timer is needed, so fake clocks and an injected `now` just
// work. A write due at once is also applied when the task that made it is over, should nothing read
// first: the call that made it answers first (a 500,000-row batch is answered once checked, and the
// client sends its next one while this one is applied). A long write is applied in slices, a zero
// timeout apart, and none while a batch arrives, so that the next upload is checked at full speed.

/**
 * Applies a write at `at`: at once, or in slices. Then it answers a function applying the next
 * slice at each call, and whether that was the last; a read calls it until it is.
 */
export type Write = (at: number) => (() => boolean) | void;

interface PendingWrite {
  readonly visibleAt: number;
  readonly apply: Write;
}

export interface PendingWrites {
  /**
   * Applies `write` once `delayMs` has passed (0: before anything reads), with the time it became
   * visible; answers that time.
   */
  add(delayMs: number, write: Write): number;
  /** Applies every write whose time has come: earliest first, in order of acceptance on a tie. */
  applyDue(): void;
  /**
   * Holds back the slices while a batch arrives (`release` when it is in): checking it as it comes
   * is what its sender waits for, applying the last one is not.
   */
  hold(): void;
  release(): void;
  clear(): void;
}

export function createPendingWrites(now: () => number): PendingWrites {
  // Kept sorted by visibleAt; a new write goes after every write due no later than it.
  let pending: PendingWrite[] = [];
  // The write the timeout began and paused between slices: older than any still pending.
  let begun: (() => boolean) | undefined;
  // Whether a timeout will apply the next slice of what is due.
  let scheduled = false;
  // Batches arriving: no slice is applied meanwhile.
  let held = 0;

  /** Applies what is due: all of it, or (`slice`) the next slice of the first write. */
  function run(slice: boolean): void {
    const time = now();
    for (;;) {
      if (begun === undefined) {
        const write = pending[0];
        if (write === undefined || write.visibleAt > time) return;
        pending.shift();
        begun = write.apply(write.visibleAt) ?? undefined;
        if (begun === undefined && slice) return;
        if (begun === undefined) continue;
      }
      if (slice) {
        if (begun()) begun = undefined;
        return;
      }
      while (!begun());
      begun = undefined;
    }
  }

  /** Whether a write is begun or due: a slice is left to apply. */
  const due = () => begun !== undefined || (pending.length > 0 && pending[0]!.visibleAt <= now());

  function schedule(): void {
    if (scheduled || held > 0) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      if (held > 0) return;
      run(true);
      if (due()) schedule();
    }, 0);
  }

  return {
    add(delayMs, apply) {
      const write = { visibleAt: now() + delayMs, apply };
      let index = pending.length;
      while (index > 0 && pending[index - 1]!.visibleAt > write.visibleAt) index--;
      pending.splice(index, 0, write);
      if (delayMs <= 0) schedule();
      return write.visibleAt;
    },
    applyDue: () => run(false),
    hold() {
      held++;
    },
    release() {
      held--;
      if (due()) schedule();
    },
    clear() {
      pending = [];
      begun = undefined;
    },
  };
}
