/** Helpers for the group coordinator's unit tests: a clock that moves only when told, a group env. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock, TimerHandle } from '../../../src/coordinator/group/clock.js';
import { ClassicGroup, type GroupEnvironment, type JoinGroupParams } from '../../../src/coordinator/group/classic-group.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { pino } from 'pino';
import { silentLogger } from '../../../src/logger.js';

interface ScheduledTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock whose timers fire only inside `advance`, in deadline order. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ScheduledTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    const timer: ScheduledTimer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, one by one. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = target;
  }

  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }
}

/** Lets promise continuations (group stores, responses) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await nextTurn();
}

export interface TestEnv extends GroupEnvironment {
  readonly clock: ManualClock;
  /** Every group record stored, newest last. */
  readonly stored: Array<ReturnType<ClassicGroup['toRecord']>>;
  /** The error code the next stores answer with. */
  storeError: number;
}

export function testEnv(initialRebalanceDelayMs = 3000): TestEnv {
  const env: TestEnv = {
    clock: new ManualClock(),
    logger: process.env.TEST_LOG ? pino({ level: 'debug' }) : silentLogger(),
    initialRebalanceDelayMs,
    stored: [],
    storeError: ErrorCode.NONE,
    storeGroup(group, assignment) {
      env.stored.push(group.toRecord(assignment));
      return Promise.resolve(env.storeError);
    },
  };
  return env;
}

export function protocols(...names: string[]): Array<{ name: string; metadata: Buffer }> {
  return names.map((name) => ({ name, metadata: Buffer.from(`meta-${name}`) }));
}

export function joinParams(overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    memberId: '',
    groupInstanceId: null,
    requireKnownMemberId: true,
    supportSkippingAssignment: false,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 10_000,
    sessionTimeoutMs: 6_000,
    protocolType: 'consumer',
    protocols: protocols('range'),
    reason: null,
    ...overrides,
  };
}
