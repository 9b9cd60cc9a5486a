/**
 * Output and failure conventions shared by the operator commands: aligned tables and key/value
 * blocks for people, JSON for scripts (`--json`), and errors that name the cause and the fix, with
 * exit codes that mean something:
 *
 *   0  success
 *   1  the operation failed (a Kafka error code, a timeout, an unsupported broker version)
 *   2  usage error (unknown option, bad value, missing argument)
 *   3  cannot connect to the brokers
 */
import type { Command } from 'commander';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { BrokerConnectionError, KafkaError, RequestTimeoutError, UnsupportedVersionError } from '../client/errors.js';

export const ExitCode = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** Appended to the help of every operator command. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the operation failed (the message names the Kafka error and the likely fix)
  2  usage error (unknown option, invalid value, missing argument)
  3  cannot connect to the brokers (--brokers, TRIBUTARY_BROKERS)`;

/** An error with a message for the user and the exit code it ends the command with. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

export function failure(message: string): CliError {
  return new CliError(ExitCode.failed, message);
}

// ---------------------------------------------------------------------------------------------
// Tables and JSON

export type Cell = string | number | bigint | boolean | null | undefined;

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return String(cell);
}

/** Columns separated by two spaces, left-aligned, no trailing spaces; one line per row. */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const texts = [headers, ...rows.map((row) => row.map(cellText))];
  const widths = headers.map((_, column) => Math.max(...texts.map((row) => (row[column] ?? '').length)));
  return texts
    .map((row) =>
      row
        .map((text, column) => (column === row.length - 1 ? text : text.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A block of `KEY  value` lines, keys aligned. */
export function renderFields(fields: Array<[string, Cell]>): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${cellText(value)}`.trimEnd()).join('\n');
}

/** JSON with bigints as numbers when they fit exactly, else as strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      return v;
    },
    indent,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(toJson(value, 2) + '\n');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function warn(text: string): void {
  process.stderr.write(`tributary: ${text}\n`);
}

/** 1234567 -> "1.2 MiB"; small values in bytes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A timestamp in ms as an ISO date, or '-' for Kafka's "no timestamp" (-1). */
export function formatTimestamp(ms: bigint | number | null): string {
  if (ms === null || ms < 0) return '-';
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Errors

const quoted = (context: string, what: string): string | null => new RegExp(`${what} '([^']+)'`).exec(context)?.[1] ?? null;

/** A plain statement of what is wrong, for the errors that have one. */
function describeKafkaError(error: KafkaError): string | null {
  const topic = quoted(error.context, 'topic');
  const group = quoted(error.context, 'group');
  switch (error.errorCode) {
    case ErrorCode.TOPIC_ALREADY_EXISTS:
      return topic === null ? null : `topic '${topic}' already exists`;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return topic === null || /partition/.test(error.context) ? null : `topic '${topic}' does not exist`;
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return group === null ? null : `group '${group}' does not exist`;
    case ErrorCode.NON_EMPTY_GROUP:
      return group === null ? null : `group '${group}' still has active members`;
    default:
      return null;
  }
}

/** The likely fix for a Kafka error, by error code. */
function hintFor(error: KafkaError): string | null {
  const topic = quoted(error.context, 'topic') ?? quoted(error.context, 'of');
  const group = quoted(error.context, 'group');
  switch (error.errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.UNKNOWN_TOPIC_ID:
      if (topic === null) return 'check the topic and partition with `tributary topic list` and `tributary topic describe TOPIC`';
      if (/partition/.test(error.context)) return `\`tributary topic describe ${topic}\` shows its partitions`;
      return error.context.startsWith('deleting')
        ? 'check the name with `tributary topic list`'
        : `create the topic with \`tributary topic create ${topic}\`, or check the name with \`tributary topic list\``;
    case ErrorCode.TOPIC_ALREADY_EXISTS:
      return topic === null ? 'see `tributary topic list`' : `use \`tributary topic describe ${topic}\``;
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
      return "topic names use letters, digits, '.', '_' and '-', up to 249 characters";
    case ErrorCode.INVALID_PARTITIONS:
      return 'give a positive partition count (-p N); add-partitions can only grow a topic';
    case ErrorCode.INVALID_REPLICATION_FACTOR:
      return 'use a replication factor no larger than the number of brokers (`tributary cluster info`)';
    case ErrorCode.INVALID_CONFIG:
      return '`tributary topic describe TOPIC --all-configs` lists every config with its current value';
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return topic === null
        ? "a record is larger than the topic's max.message.bytes; raise it with `tributary topic alter-config TOPIC --set max.message.bytes=N`"
        : `a record is larger than the topic's max.message.bytes; raise it with \`tributary topic alter-config ${topic} --set max.message.bytes=N\``;
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return 'see the existing groups with `tributary group list`';
    case ErrorCode.NON_EMPTY_GROUP:
      return `stop its consumers first${group === null ? '' : ` (\`tributary group describe ${group}\` shows them)`}`;
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.NOT_COORDINATOR:
      return "the group coordinator did not become available; check the broker's log, then try again";
    case ErrorCode.LEADER_NOT_AVAILABLE:
    case ErrorCode.NOT_LEADER_FOR_PARTITION:
      return 'the partition has no leader right now; check the brokers with `tributary cluster info` and try again';
    case ErrorCode.INCONSISTENT_GROUP_PROTOCOL:
      return "another kind of client uses this group id (or its members use no 'range' assignor); pick another group with -g";
    case ErrorCode.UNSUPPORTED_COMPRESSION_TYPE:
      return 'the broker does not accept this codec; try another -z codec';
    case ErrorCode.TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode.GROUP_AUTHORIZATION_FAILED:
    case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
      return "the broker's ACLs do not allow this operation";
    case ErrorCode.POLICY_VIOLATION:
      return "the broker's policy refused it (see the message)";
    case ErrorCode.REBALANCE_IN_PROGRESS:
      return 'the group is rebalancing; try again in a few seconds';
    case ErrorCode.UNSUPPORTED_VERSION:
      return 'the broker is too old for this operation';
    default:
      return null;
  }
}

/** The message and exit code an error ends a command with. */
export function explain(error: unknown): { exitCode: number; message: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof BrokerConnectionError) {
    return {
      exitCode: ExitCode.unreachable,
      message:
        `${error.message}. ` +
        'Is a broker running there? Start one with `tributary start`, or point --brokers (or TRIBUTARY_BROKERS) at your cluster.',
    };
  }
  if (error instanceof RequestTimeoutError) {
    return { exitCode: ExitCode.failed, message: `${error.message}; the broker may be overloaded: try again, or raise --timeout` };
  }
  if (error instanceof UnsupportedVersionError) {
    return { exitCode: ExitCode.failed, message: `${error.message}; tributary needs a Kafka 0.11 or later protocol for this command` };
  }
  if (error instanceof KafkaError) {
    const server = error.serverMessage?.replace(/\.\s*$/, '') ?? null;
    const what = describeKafkaError(error) ?? `${error.context} failed${server ? `: ${server}` : ''}`;
    const hint = hintFor(error);
    return { exitCode: ExitCode.failed, message: `${error.errorName}: ${what}${hint ? `; ${hint}` : ''}` };
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { exitCode: ExitCode.failed, message: `unexpected error: ${text}` };
}

/** Writes stdout's pending output, then exits. */
export async function exit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

/**
 * Wraps a command action: any error becomes its message on stderr and its exit code; success exits
 * 0 (open sockets or timers never keep a finished command alive).
 */
export function action<Args extends unknown[]>(run: (...args: Args) => Promise<void | number>): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    let code: number = ExitCode.ok;
    try {
      const returned = await run(...args);
      if (typeof returned === 'number') code = returned;
    } catch (error) {
      const explained = explain(error);
      process.stderr.write(`tributary: ${explained.message}\n`);
      code = explained.exitCode;
    }
    await exit(code);
  };
}

/**
 * Commander's own failures (unknown option, missing argument, invalid value) exit 2; help and
 * version exit 0. Subcommands created after this call inherit it.
 */
export function usageExitCodes(command: Command): Command {
  return command.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : ExitCode.usage);
  });
}
