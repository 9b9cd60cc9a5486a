/**
 * A small Kafka client on Tributary's own protocol codec: connections with version negotiation,
 * cluster metadata and routing, a producer, a consumer, a classic consumer-group member and admin
 * calls. It is what the `tributary` command line speaks, to Tributary or to Apache Kafka.
 */
export { KafkaClient, parseBrokerList, type ClientOptions, type ClusterMetadata, type TopicMetadata, type PartitionMetadata, type BrokerMetadata } from './client.js';
export { Connection, formatAddress, type BrokerAddress } from './connection.js';
export { Api, CLIENT_APIS, type ApiSpec } from './apis.js';
export { ClientError, KafkaError, BrokerConnectionError, RequestTimeoutError, UnsupportedVersionError, isRetriableError } from './errors.js';
export { Producer, type ProducerOptions, type ProducerRecord, type RecordMetadata, type Acks } from './producer.js';
export { Consumer, type ConsumedRecord, type StartPosition, type PartitionAssignment } from './consumer.js';
export { GroupMember, rangeAssign, type Assignment, type GroupMemberOptions } from './group.js';
export { murmur2, toPositive, partitionForKey, StickyPartitions } from './partitioner.js';
export * from './admin.js';
