import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetIndex } from '../../../src/storage/file/offset-index.js';
import { TimeIndex } from '../../../src/storage/file/time-index.js';

function offsetEntries(...entries: Array<[number, number]>): Buffer {
  const bytes = Buffer.alloc(entries.length * 8);
  entries.forEach(([offset, position], i) => {
    bytes.writeInt32BE(offset, i * 8);
    bytes.writeInt32BE(position, i * 8 + 4);
  });
  return bytes;
}

function timeEntries(...entries: Array<[bigint, number]>): Buffer {
  const bytes = Buffer.alloc(entries.length * 12);
  entries.forEach(([timestamp, offset], i) => {
    bytes.writeBigInt64BE(timestamp, i * 12);
    bytes.writeInt32BE(offset, i * 12 + 8);
  });
  return bytes;
}

describe('OffsetIndex', () => {
  it('finds the entry at or below an offset', () => {
    const index = OffsetIndex.empty();
    for (let i = 1; i <= 100; i++) index.append(i * 10, i * 1000);
    assert.equal(index.entryCount, 100);
    assert.equal(index.lookup(5), null);
    assert.deepEqual(index.lookup(10), { relativeOffset: 10, position: 1000 });
    assert.deepEqual(index.lookup(19), { relativeOffset: 10, position: 1000 });
    assert.deepEqual(index.lookup(555), { relativeOffset: 550, position: 55_000 });
    assert.deepEqual(index.lookup(2_000_000), { relativeOffset: 1000, position: 100_000 });
  });

  it('ignores entries that would not strictly increase', () => {
    const index = OffsetIndex.empty();
    index.append(5, 100);
    index.append(5, 200);
    index.append(6, 100);
    assert.equal(index.entryCount, 1);
  });

  it('round-trips its file image and grows from a loaded file', () => {
    const index = OffsetIndex.fromFile(offsetEntries([1, 100], [7, 900]), 1000)!;
    index.append(9, 950);
    const again = OffsetIndex.fromFile(Buffer.from(index.bytes()), 1000)!;
    assert.deepEqual(again.lastEntry(), { relativeOffset: 9, position: 950 });
    assert.equal(OffsetIndex.fromFile(Buffer.alloc(0), 0)!.entryCount, 0);
  });

  it('rejects inconsistent files', () => {
    assert.equal(OffsetIndex.fromFile(Buffer.alloc(12), 1000), null, 'size not a multiple of 8');
    assert.equal(OffsetIndex.fromFile(offsetEntries([5, 100], [4, 200]), 1000), null, 'offsets going back');
    assert.equal(OffsetIndex.fromFile(offsetEntries([5, 100], [6, 100]), 1000), null, 'positions not increasing');
    assert.equal(OffsetIndex.fromFile(offsetEntries([5, 100], [6, 1000]), 1000), null, 'position at the end of the log');
    assert.equal(OffsetIndex.fromFile(offsetEntries([-1, 0]), 1000), null, 'negative offset');
  });
});

describe('TimeIndex', () => {
  it('finds the last entry strictly before a timestamp', () => {
    const index = TimeIndex.empty();
    for (let i = 1; i <= 50; i++) index.maybeAppend(BigInt(i * 100), i * 3);
    assert.equal(index.lookupBefore(100n), null);
    assert.deepEqual(index.lookupBefore(101n), { timestamp: 100n, relativeOffset: 3 });
    assert.deepEqual(index.lookupBefore(250n), { timestamp: 200n, relativeOffset: 6 });
    assert.deepEqual(index.lookupBefore(300n), { timestamp: 200n, relativeOffset: 6 });
    assert.deepEqual(index.lastEntry(), { timestamp: 5000n, relativeOffset: 150 });
  });

  it('adds an entry only for a larger timestamp', () => {
    const index = TimeIndex.empty();
    index.maybeAppend(100n, 0);
    index.maybeAppend(100n, 5);
    index.maybeAppend(50n, 6);
    index.maybeAppend(-1n, 7);
    assert.equal(index.entryCount, 1);
  });

  it('rejects inconsistent files', () => {
    assert.equal(TimeIndex.fromFile(Buffer.alloc(8)), null);
    assert.equal(TimeIndex.fromFile(timeEntries([100n, 1], [100n, 2])), null, 'timestamps not increasing');
    assert.equal(TimeIndex.fromFile(timeEntries([100n, 5], [200n, 2])), null, 'offsets going back');
    assert.equal(TimeIndex.fromFile(timeEntries([-5n, 0])), null, 'negative timestamp');
    assert.deepEqual(TimeIndex.fromFile(timeEntries([100n, 1], [200n, 2]))!.lastEntry(), { timestamp: 200n, relativeOffset: 2 });
  });
});
