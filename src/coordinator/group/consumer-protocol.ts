/**
 * The little the broker reads of the "consumer" protocol's opaque member bytes. Assignment is
 * computed by clients; the broker only needs the subscribed topics (OffsetDelete refuses to delete
 * offsets of subscribed topics, and offsets of subscribed topics never expire while the group is
 * Stable) and, for administration and lag, which partitions each member was assigned.
 *
 * Both ConsumerProtocolSubscription and ConsumerProtocolAssignment start with an int16 version
 * followed by a first field that every version shares (the topic list, the assigned partitions).
 * Clients disagree about later fields (KafkaJS writes the v0 body under higher version numbers), so
 * reading only that shared prefix is what stays correct for every client.
 */
import { Reader } from '../../protocol/primitives/reader.js';

/** The protocol type of Kafka consumers (Java, librdkafka, KafkaJS, ...). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** The subscribed topics in a ConsumerProtocolSubscription, or null when the bytes do not parse. */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  const reader = new Reader(metadata);
  const version = reader.int16();
  if (version < 0) return null;
  const count = reader.arrayLength(2);
  if (count < 0) return null;
  const topics: string[] = [];
  for (let i = 0; i < count && reader.ok; i++) topics.push(reader.string());
  return reader.ok ? topics : null;
}

export interface AssignedPartitions {
  topic: string;
  partitions: number[];
}

/**
 * The partitions in a ConsumerProtocolAssignment; an empty list for empty bytes (a member the
 * leader gave nothing), null when the bytes do not parse.
 */
export function assignedPartitionsOf(assignment: Buffer): AssignedPartitions[] | null {
  if (assignment.length === 0) return [];
  const reader = new Reader(assignment);
  const version = reader.int16();
  if (version < 0) return null;
  const count = reader.arrayLength(6);
  if (count < 0) return null;
  const assigned: AssignedPartitions[] = [];
  for (let i = 0; i < count && reader.ok; i++) {
    const topic = reader.string();
    const partitionCount = reader.arrayLength(4);
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount && reader.ok; p++) partitions.push(reader.int32());
    assigned.push({ topic, partitions });
  }
  return reader.ok ? assigned : null;
}
