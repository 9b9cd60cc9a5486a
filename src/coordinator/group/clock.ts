/**
 * Time as the group coordinator sees it: the current time and one-shot timers. The broker uses the
 * system clock; unit tests drive the state machine deterministically with a manual clock that only
 * moves when told to.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `delayMs` from now, unless cancelled first. */
  schedule(delayMs: number, callback: () => void): TimerHandle;
}

/** setTimeout cannot wait longer than 2^31-1 ms; longer delays fire at that bound and re-arm. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    let timer: NodeJS.Timeout;
    const deadline = Date.now() + delayMs;
    const arm = (wait: number) => {
      timer = setTimeout(() => {
        const left = deadline - Date.now();
        if (left > 0 && wait === MAX_TIMEOUT_MS) arm(Math.min(left, MAX_TIMEOUT_MS));
        else callback();
      }, wait);
      // Timers never keep the process alive on their own: the broker's listener does that.
      timer.unref();
    };
    arm(Math.max(0, Math.min(delayMs, MAX_TIMEOUT_MS)));
    return { cancel: () => clearTimeout(timer) };
  },
};
