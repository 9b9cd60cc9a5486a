import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAssignment, encodeSubscription, rangeAssign } from '../../../src/client/group.js';
import { assignedPartitionsOf, subscribedTopicsOf } from '../../../src/coordinator/group/consumer-protocol.js';

test("the range assignor gives each topic's partitions out in consecutive ranges, by member id", () => {
  const assignment = rangeAssign(
    [
      { memberId: 'c', topics: ['a', 'b'] },
      { memberId: 'a', topics: ['a'] },
      { memberId: 'b', topics: ['a', 'b'] },
    ],
    new Map([
      ['a', 7],
      ['b', 2],
    ]),
  );
  assert.deepEqual(Object.fromEntries([...assignment].map(([member, topics]) => [member, Object.fromEntries(topics)])), {
    a: { a: [0, 1, 2] },
    b: { a: [3, 4], b: [0] },
    c: { a: [5, 6], b: [1] },
  });
  // More members than partitions: the last members get nothing; unknown topics give nothing.
  const few = rangeAssign(
    [
      { memberId: 'x', topics: ['one', 'missing'] },
      { memberId: 'y', topics: ['one'] },
    ],
    new Map([['one', 1]]),
  );
  assert.deepEqual([...few.get('x')!], [['one', [0]]]);
  assert.deepEqual([...few.get('y')!], []);
});

test('subscription and assignment bytes are the consumer protocol the broker and other clients read', () => {
  assert.deepEqual(subscribedTopicsOf(encodeSubscription(['orders', 'audit'])), ['orders', 'audit']);
  assert.deepEqual(assignedPartitionsOf(encodeAssignment(new Map([['orders', [1, 3]]]))), [{ topic: 'orders', partitions: [1, 3] }]);
  // ConsumerProtocolAssignment v0: int16 version, [topic string, [int32]], nullable bytes user data.
  assert.deepEqual(
    encodeAssignment(new Map([['t', [2]]])),
    Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff]),
  );
});
