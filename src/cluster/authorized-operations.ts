/**
 * Bit sets of Kafka ACL operations (AclOperation codes) that Metadata, DescribeCluster and
 * DescribeGroups report when a client asks for "authorized operations". Tributary has no
 * authorisation yet, so every client may do everything that applies to a resource.
 */
const Operation = {
  read: 3,
  write: 4,
  create: 5,
  delete: 6,
  alter: 7,
  describe: 8,
  clusterAction: 9,
  describeConfigs: 10,
  alterConfigs: 11,
  idempotentWrite: 12,
  createTokens: 13,
  describeTokens: 14,
} as const;

function bits(...operations: number[]): number {
  return operations.reduce((set, operation) => set | (1 << operation), 0);
}

/** Kafka's marker for "not requested". */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const TOPIC_OPERATIONS = bits(
  Operation.read,
  Operation.write,
  Operation.create,
  Operation.delete,
  Operation.alter,
  Operation.describe,
  Operation.describeConfigs,
  Operation.alterConfigs,
);

export const CLUSTER_OPERATIONS = bits(
  Operation.create,
  Operation.alter,
  Operation.describe,
  Operation.clusterAction,
  Operation.describeConfigs,
  Operation.alterConfigs,
  Operation.idempotentWrite,
  Operation.createTokens,
  Operation.describeTokens,
);

export const GROUP_OPERATIONS = bits(Operation.read, Operation.delete, Operation.describe);
