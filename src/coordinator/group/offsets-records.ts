/**
 * The record formats of `__consumer_offsets`, exactly as Kafka writes them, so the log can be read
 * with Kafka's own tools and reasoned about with Kafka knowledge.
 *
 * Every key and value starts with an int16 version. The key's version says what the record is:
 * ```
 * key version 0 or 1  OffsetCommitKey    group string, topic string, partition int32
 * key version 2       GroupMetadataKey   group string
 * ```
 * OffsetCommitValue (value versions 0-4; 4 is flexible: compact strings and tagged fields):
 * ```
 * offset int64 | leaderEpoch int32 (v3+) | metadata string | commitTimestamp int64
 * | expireTimestamp int64 (v1 only)
 * ```
 * Kafka writes v1 when the commit carried an explicit retention time (OffsetCommit v2-v4 with
 * RetentionTimeMs != -1, the pre-KIP-211 expiry) and v3 otherwise; so does Tributary.
 *
 * GroupMetadataValue (value versions 0-4; 4 is flexible):
 * ```
 * protocolType string | generation int32 | protocol nullable string | leader nullable string
 * | currentStateTimestamp int64 (v2+) | members [ memberId string | groupInstanceId nullable
 *   string (v3+) | clientId string | clientHost string | rebalanceTimeout int32 (v1+)
 *   | sessionTimeout int32 | subscription bytes | assignment bytes ]
 * ```
 * Kafka (since 2.3) writes v3; so does Tributary. A null value is a tombstone: the offset or the
 * group was deleted, and compaction may later drop every earlier record with the same key.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;

export type OffsetsTopicKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string };

export interface OffsetCommitValue {
  offset: bigint;
  /** -1 when the committer did not know the leader epoch. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** Only old clients (OffsetCommit v1-v4 with a retention time) set one; null otherwise. */
  expireTimestamp: bigint | null;
}

export interface GroupMemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  /** '' for a group without one. */
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** -1 when unknown. */
  currentStateTimestamp: bigint;
  members: GroupMemberRecord[];
}

/** Thrown for a record this module cannot parse; the loader logs and skips it. */
export class OffsetsRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetsRecordError';
  }
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  return new Writer(64).int16(OFFSET_COMMIT_KEY_VERSION).string(group).string(topic).int32(partition).toBuffer();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  return new Writer(32).int16(GROUP_METADATA_KEY_VERSION).string(group).toBuffer();
}

/** Decodes a key; null for key versions this broker does not know (newer group types), which are skipped. */
export function decodeOffsetsTopicKey(key: Buffer): OffsetsTopicKey | null {
  const reader = new Reader(key);
  const version = reader.int16();
  let decoded: OffsetsTopicKey | null;
  if (version === 0 || version === 1) {
    decoded = { kind: 'offset', group: reader.string(), topic: reader.string(), partition: reader.int32() };
  } else if (version === GROUP_METADATA_KEY_VERSION) {
    decoded = { kind: 'group', group: reader.string() };
  } else {
    decoded = null;
  }
  if (!reader.ok) throw new OffsetsRecordError(`malformed __consumer_offsets key (version ${version}): ${reader.error}`);
  return decoded;
}

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const writer = new Writer(64);
  if (value.expireTimestamp !== null) {
    writer.int16(1).int64(value.offset).string(value.metadata).int64(value.commitTimestamp).int64(value.expireTimestamp);
  } else {
    writer.int16(3).int64(value.offset).int32(value.leaderEpoch).string(value.metadata).int64(value.commitTimestamp);
  }
  return writer.toBuffer();
}

export function decodeOffsetCommitValue(value: Buffer): OffsetCommitValue {
  const reader = new Reader(value);
  const version = reader.int16();
  if (version < 0 || version > 4) throw new OffsetsRecordError(`unknown OffsetCommitValue version ${version}`);
  const flexible = version >= 4;
  const offset = reader.int64();
  const leaderEpoch = version >= 3 ? reader.int32() : -1;
  const metadata = flexible ? reader.compactString() : reader.string();
  const commitTimestamp = reader.int64();
  const expireTimestamp = version === 1 ? reader.int64() : null;
  if (flexible) reader.taggedFields();
  if (!reader.ok) throw new OffsetsRecordError(`malformed OffsetCommitValue v${version}: ${reader.error}`);
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function encodeGroupMetadataValue(value: GroupMetadataValue, version = 3): Buffer {
  if (version < 0 || version > 4) throw new RangeError(`GroupMetadataValue version ${version} does not exist`);
  const flexible = version >= 4;
  const writer = new Writer(256);
  const string = (s: string) => (flexible ? writer.compactString(s) : writer.string(s));
  const nullableString = (s: string | null) => (flexible ? writer.compactNullableString(s) : writer.nullableString(s));
  const bytes = (b: Buffer) => (flexible ? writer.compactBytes(b) : writer.bytes(b));
  writer.int16(version);
  string(value.protocolType);
  writer.int32(value.generation);
  nullableString(value.protocol);
  nullableString(value.leader);
  if (version >= 2) writer.int64(value.currentStateTimestamp);
  if (flexible) writer.compactArrayLength(value.members.length);
  else writer.arrayLength(value.members.length);
  for (const member of value.members) {
    string(member.memberId);
    if (version >= 3) nullableString(member.groupInstanceId);
    string(member.clientId);
    string(member.clientHost);
    if (version >= 1) writer.int32(member.rebalanceTimeoutMs);
    writer.int32(member.sessionTimeoutMs);
    bytes(member.subscription);
    bytes(member.assignment);
    if (flexible) writer.taggedFields([]);
  }
  if (flexible) writer.taggedFields([]);
  return writer.toBuffer();
}

export function decodeGroupMetadataValue(value: Buffer): GroupMetadataValue {
  const reader = new Reader(value);
  const version = reader.int16();
  if (version < 0 || version > 4) throw new OffsetsRecordError(`unknown GroupMetadataValue version ${version}`);
  const flexible = version >= 4;
  const string = () => (flexible ? reader.compactString() : reader.string());
  const nullableString = () => (flexible ? reader.compactNullableString() : reader.nullableString());
  const bytes = () => (flexible ? reader.compactBytes() : reader.bytes());
  const protocolType = string();
  const generation = reader.int32();
  const protocol = nullableString();
  const leader = nullableString();
  const currentStateTimestamp = version >= 2 ? reader.int64() : -1n;
  // Smallest member: four empty strings, two int32s, two empty byte arrays.
  const count = flexible ? reader.compactArrayLength(8) : reader.arrayLength(24);
  const members: GroupMemberRecord[] = [];
  for (let i = 0; i < count && reader.ok; i++) {
    const memberId = string();
    const groupInstanceId = version >= 3 ? nullableString() : null;
    const clientId = string();
    const clientHost = string();
    const sessionOrRebalance = reader.int32();
    // v0 has only the session timeout; Kafka then used it as the rebalance timeout too.
    const rebalanceTimeoutMs = sessionOrRebalance;
    const sessionTimeoutMs = version >= 1 ? reader.int32() : sessionOrRebalance;
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) reader.taggedFields();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (count < 0) reader.fail('GroupMetadataValue.members is not nullable');
  if (flexible) reader.taggedFields();
  if (!reader.ok) throw new OffsetsRecordError(`malformed GroupMetadataValue v${version}: ${reader.error}`);
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
