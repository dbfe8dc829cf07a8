import type { Fault, FaultBehaviour, Operation } from "./types.js";

interface PendingFault {
  remaining: number;
  operations: readonly Operation[] | undefined;
  behaviour: FaultBehaviour;
}

export interface FaultQueue {
  add(fault: Fault): void;
  /** The behaviour for this call, if a pending fault applies to it (oldest first). */
  take(operation: Operation | undefined): FaultBehaviour | undefined;
  clear(): void;
}

export function createFaultQueue(): FaultQueue {
  let pending: PendingFault[] = [];
  return {
    add({ times = 1, operations, ...behaviour }) {
      if (times > 0) pending.push({ remaining: times, operations, behaviour: behaviour as FaultBehaviour });
    },
    take(operation) {
      const fault = pending.find(
        ({ operations }) => operations === undefined || (operation !== undefined && operations.includes(operation)),
      );
      if (fault === undefined) return undefined;
      if (--fault.remaining === 0) pending = pending.filter((other) => other !== fault);
      return fault.behaviour;
    },
    clear() {
      pending = [];
    },
  };
}

/** Waits like a slow server, but gives up as a real fetch does when the request is aborted. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
