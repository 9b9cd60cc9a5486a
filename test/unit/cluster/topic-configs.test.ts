import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cleanupPolicyOf,
  isCompactedTopic,
  logConfigOf,
  topicConfigConflict,
  topicConfigDefinition,
  validateTopicConfig,
} from '../../../src/cluster/topic-configs.js';

describe('topic configs: compaction settings', () => {
  it('are acted on, and validated as Kafka validates them', () => {
    for (const name of ['cleanup.policy', 'min.cleanable.dirty.ratio', 'delete.retention.ms', 'min.compaction.lag.ms', 'max.compaction.lag.ms']) {
      assert.equal(topicConfigDefinition(name)?.applied, true, name);
    }
    assert.equal(validateTopicConfig('cleanup.policy', 'compact,delete'), null);
    assert.equal(validateTopicConfig('cleanup.policy', 'delete, compact'), null);
    assert.match(validateTopicConfig('cleanup.policy', 'compress') ?? '', /cleanup.policy/);
    assert.match(validateTopicConfig('min.cleanable.dirty.ratio', '1.5') ?? '', /from 0 to 1/);
    assert.match(validateTopicConfig('max.compaction.lag.ms', '0') ?? '', /at least 1/);
    assert.equal(topicConfigConflict({ 'min.compaction.lag.ms': '1000', 'max.compaction.lag.ms': '5000' }), null);
    assert.match(topicConfigConflict({ 'min.compaction.lag.ms': '6000', 'max.compaction.lag.ms': '5000' }) ?? '', /min.compaction.lag.ms/);
  });

  it('reach the engines through logConfigOf', () => {
    assert.equal(cleanupPolicyOf('delete'), 'delete');
    assert.equal(cleanupPolicyOf('compact'), 'compact');
    assert.equal(cleanupPolicyOf(' delete , compact'), 'compact,delete');
    assert.equal(isCompactedTopic({}), false);
    assert.equal(isCompactedTopic({ 'cleanup.policy': 'compact,delete' }), true);
    assert.equal(isCompactedTopic({}, { 'cleanup.policy': 'compact' }), true, 'a broker default applies');

    const defaults = logConfigOf({});
    assert.equal(defaults.cleanupPolicy, 'delete');
    assert.equal(defaults.minCleanableDirtyRatio, 0.5);
    assert.equal(defaults.deleteRetentionMs, 86_400_000);
    assert.equal(defaults.minCompactionLagMs, 0);
    assert.equal(defaults.maxCompactionLagMs, Number.MAX_SAFE_INTEGER);

    const compacted = logConfigOf({
      'cleanup.policy': 'compact',
      'min.cleanable.dirty.ratio': '0.1',
      'delete.retention.ms': '1000',
      'min.compaction.lag.ms': '2000',
      'max.compaction.lag.ms': '60000',
      'segment.ms': '3600000',
    });
    assert.deepEqual(
      [compacted.cleanupPolicy, compacted.minCleanableDirtyRatio, compacted.deleteRetentionMs, compacted.minCompactionLagMs, compacted.maxCompactionLagMs],
      ['compact', 0.1, 1000, 2000, 60000],
    );
    assert.equal(compacted.segmentMs, 60000, 'a compacted log rolls by max.compaction.lag.ms too (Kafka’s maxSegmentMs)');
    assert.equal(logConfigOf({ 'max.compaction.lag.ms': '60000', 'segment.ms': '3600000' }).segmentMs, 3_600_000, 'not when it does not compact');
  });
});
