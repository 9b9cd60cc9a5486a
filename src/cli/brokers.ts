/**
 * The connection options every client command shares: `--brokers host:port[,host:port]` (or the
 * TRIBUTARY_BROKERS environment variable, default 127.0.0.1:9092, where `tributary start` listens)
 * and `--timeout`, and the client built from them.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { KafkaClient, parseBrokerList } from '../client/client.js';
import { usageError } from './output.js';

export const DEFAULT_BROKERS = '127.0.0.1:9092';

export interface ConnectionFlags {
  brokers: string;
  timeout: number;
}

/** Parses a duration: plain milliseconds, or a number with ms, s or m. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) throw new InvalidArgumentError('Expected a duration such as 5000, 5000ms, 5s or 1m.');
  const amount = Number(match[1]);
  const factor = match[2] === 's' ? 1000 : match[2] === 'm' ? 60_000 : 1;
  const ms = Math.round(amount * factor);
  if (ms < 1 || ms > 2 ** 31 - 1) throw new InvalidArgumentError('Expected a duration from 1 ms to 24 days.');
  return ms;
}

/** Adds --brokers and --timeout to a command. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-b, --brokers <host:port,...>', 'bootstrap brokers').env('TRIBUTARY_BROKERS').default(DEFAULT_BROKERS),
    )
    .addOption(new Option('--timeout <duration>', 'timeout of each request (ms, or 5s, 1m)').default(30_000, '30s').argParser(parseDuration));
}

/** Builds a client from the flags, runs `use`, and closes the client whatever happens. */
export async function withClient<T>(flags: ConnectionFlags, use: (client: KafkaClient) => Promise<T>): Promise<T> {
  let brokers;
  try {
    brokers = parseBrokerList(flags.brokers);
  } catch (error) {
    throw usageError(`invalid --brokers "${flags.brokers}": ${(error as Error).message}; expected host:port[,host:port...]`);
  }
  const client = new KafkaClient({
    brokers,
    clientId: 'tributary-cli',
    requestTimeoutMs: flags.timeout,
    connectTimeoutMs: Math.min(flags.timeout, 10_000),
  });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
