// Target's asynchrony: an accepted update or batch is applied later ("generally in under one hour").
// Writes wait here until their time, on the emulator's own clock, and are applied lazily before any
// call or inspection reads the store: no timers, so fake clocks and an injected `now` just work.

interface PendingWrite {
  readonly visibleAt: number;
  readonly apply: (at: number) => void;
}

export interface PendingWrites {
  /** Applies `write` once `delayMs` has passed (at once when 0), with the time it became visible. */
  add(delayMs: number, write: (at: number) => void): void;
  /** Applies every write whose time has come: earliest first, in order of acceptance on a tie. */
  applyDue(): void;
  clear(): void;
}

export function createPendingWrites(now: () => number): PendingWrites {
  // Kept sorted by visibleAt; a new write goes after every write due no later than it.
  let pending: PendingWrite[] = [];
  const pendingWrites: PendingWrites = {
    add(delayMs, apply) {
      const write = { visibleAt: now() + delayMs, apply };
      let index = pending.length;
      while (index > 0 && pending[index - 1]!.visibleAt > write.visibleAt) index--;
      pending.splice(index, 0, write);
      pendingWrites.applyDue();
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
