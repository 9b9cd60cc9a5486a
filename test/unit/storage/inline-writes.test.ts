import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INLINE_STALL_BUDGET_MS, InlineWritePolicy, MAX_INLINE_WRITE_BYTES, SLOW_INLINE_WRITE_MS } from '../../../src/storage/file/inline-writes.js';

/** A policy on a clock the test moves; `write(ms)` records an inline write of that duration. */
function policyAt(startMs = 10_000) {
  let nowMs = startMs;
  const policy = new InlineWritePolicy({ now: () => nowMs });
  return {
    policy,
    advance(ms: number) {
      nowMs += ms;
    },
    write(ms: number) {
      const started = nowMs;
      nowMs += ms;
      policy.record(started, nowMs);
    },
  };
}

describe('InlineWritePolicy', () => {
  it('admits writes up to MAX_INLINE_WRITE_BYTES, and none when maxBytes is 0', () => {
    const { policy } = policyAt();
    assert.equal(policy.admits(MAX_INLINE_WRITE_BYTES), true);
    assert.equal(policy.admits(MAX_INLINE_WRITE_BYTES + 1), false);
    assert.equal(new InlineWritePolicy({ maxBytes: 0 }).admits(1), false);
  });

  it('lets lone slow writes pass: only their sum within a second counts', () => {
    const { policy, write, advance } = policyAt();
    for (let second = 0; second < 5; second++) {
      write(INLINE_STALL_BUDGET_MS / 2); // half the budget, once a second
      for (let i = 0; i < 100; i++) write(SLOW_INLINE_WRITE_MS); // not slow: at the limit
      advance(1_000);
    }
    assert.equal(policy.backOffs, 0);
    assert.equal(policy.admits(1), true);
  });

  it('backs off for a second once the budget is spent, doubling while stalls go on, up to a minute', () => {
    const { policy, write, advance } = policyAt();
    write(4);
    write(4);
    assert.equal(policy.admits(1), true, '8 ms of 10');
    write(4);
    assert.equal(policy.backOffs, 1);
    assert.equal(policy.admits(1), false);
    advance(999);
    assert.equal(policy.admits(1), false);
    advance(1);
    assert.equal(policy.admits(1), true);
    const expected = [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000];
    for (const backOffMs of expected) {
      write(INLINE_STALL_BUDGET_MS + 1); // one write over the whole budget
      assert.equal(policy.currentBackOffMs, backOffMs);
      advance(backOffMs);
      assert.equal(policy.admits(1), true);
    }
  });

  it('forgets the back-off after a whole back-off period of fast inline writes', () => {
    const { policy, write, advance } = policyAt();
    write(20);
    advance(1_000);
    write(20);
    assert.equal(policy.currentBackOffMs, 2_000);
    advance(2_000);
    write(0.1);
    assert.equal(policy.currentBackOffMs, 2_000, 'just back: the device has not proven itself yet');
    advance(2_000);
    write(0.1);
    assert.equal(policy.currentBackOffMs, 0);
    write(20);
    assert.equal(policy.currentBackOffMs, 1_000, 'the next stall starts from a second again');
  });
});
