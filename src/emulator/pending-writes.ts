// Target's asynchrony: an accepted update or batch is applied later ("generally in under one hour").
// Writes wait here until their time, on the emulator's own clock, and are applied lazily before any
// call or inspection reads the store: no timer is needed, so fake clocks and an injected `now` just
// work. A write due at once is also applied when the task that made it is over, should nothing read
// first: the call that made it answers first (a 500,000-row batch is answered once checked, and the
// client sends its next one while this one is applied).

interface PendingWrite {
  readonly visibleAt: number;
  readonly apply: (at: number) => void;
}

export interface PendingWrites {
  /** Applies `write` once `delayMs` has passed (0: before anything reads), with the time it became visible. */
  add(delayMs: number, write: (at: number) => void): void;
  /** Applies every write whose time has come: earliest first, in order of acceptance on a tie. */
  applyDue(): void;
  clear(): void;
}

export function createPendingWrites(now: () => number): PendingWrites {
  // Kept sorted by visibleAt; a new write goes after every write due no later than it.
  let pending: PendingWrite[] = [];
  // Whether a timeout will apply the writes due at once.
  let scheduled = false;
  const pendingWrites: PendingWrites = {
    add(delayMs, apply) {
      const write = { visibleAt: now() + delayMs, apply };
      let index = pending.length;
      while (index > 0 && pending[index - 1]!.visibleAt > write.visibleAt) index--;
      pending.splice(index, 0, write);
      if (delayMs > 0 || scheduled) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        pendingWrites.applyDue();
      }, 0);
    },
    applyDue() {
      const time = now();
      let due = 0;
      while (due < pending.length && pending[due]!.visibleAt <= time) due++;
      if (due === 0) return;
      const ready = pending.slice(0, due);
      pending = pending.slice(due);
      for (const write of ready) write.apply(write.visibleAt);
    },
    clear() {
      pending = [];
    },
  };
  return pendingWrites;
}
