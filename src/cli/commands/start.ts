/**
 * `tributary start` (also plain `tributary`): runs a broker in the foreground of this process,
 * prints one line once it listens, and shuts down cleanly on SIGTERM or SIGINT: stop accepting,
 * answer in-flight requests, flush and fsync the log, exit 0. Every flag has a TRIBUTARY_*
 * environment variable; a flag wins over the environment.
 */
import { Option, InvalidArgumentError, type Command } from 'commander';
import { startBroker } from '../../broker.js';
import { DEFAULT_CONFIG } from '../../config.js';
import { LOG_LEVELS, createLogger, type LogLevel } from '../../logger.js';
import { VERSION } from '../../version.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('Not an integer.');
  return parsed;
}

interface StartFlags {
  host: string;
  port: number;
  dataDir: string;
  advertisedHost?: string;
  advertisedPort?: number;
  logLevel: LogLevel;
  memory: boolean;
  autoCreateTopics: boolean;
  numPartitions: number;
}

async function runStart(flags: StartFlags): Promise<void> {
  const logger = createLogger(flags.logLevel);
  const broker = await startBroker({
    host: flags.host,
    port: flags.port,
    dataDir: flags.dataDir,
    storage: flags.memory ? 'memory' : 'file',
    advertisedHost: flags.advertisedHost,
    advertisedPort: flags.advertisedPort,
    logLevel: flags.logLevel,
    autoCreateTopics: flags.autoCreateTopics,
    defaultPartitions: flags.numPartitions,
    logger,
  });
  const storage = flags.memory ? 'in memory (nothing is kept)' : `data in ${flags.dataDir}`;
  process.stdout.write(
    `Tributary ${VERSION} listening on ${broker.host}:${broker.port} ` +
      `(advertised as ${broker.advertisedHost}:${broker.advertisedPort}, node ${broker.nodeId}, cluster ${broker.clusterId}, ${storage})\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    broker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function registerStartCommand(program: Command): void {
  program
    .command('start', { isDefault: true })
    .description('run a broker in the foreground')
    .addOption(new Option('--host <host>', 'address to bind').env('TRIBUTARY_HOST').default(DEFAULT_CONFIG.host))
    .addOption(new Option('--port <port>', 'port to bind (0 = any free port)').env('TRIBUTARY_PORT').default(DEFAULT_CONFIG.port).argParser(integer))
    .addOption(new Option('--data-dir <dir>', 'directory of the durable log').env('TRIBUTARY_DATA_DIR').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--advertised-host <host>', 'host clients are told to connect to (default: --host)').env('TRIBUTARY_ADVERTISED_HOST'))
    .addOption(new Option('--advertised-port <port>', 'port clients are told to connect to (default: the bound port)').env('TRIBUTARY_ADVERTISED_PORT').argParser(integer))
    .addOption(new Option('--log-level <level>', 'log level').env('TRIBUTARY_LOG_LEVEL').choices(LOG_LEVELS).default(DEFAULT_CONFIG.logLevel))
    .addOption(new Option('--memory', 'keep everything in memory instead of --data-dir').env('TRIBUTARY_MEMORY').default(false))
    .addOption(new Option('--no-auto-create-topics', 'refuse unknown topics instead of creating them (auto.create.topics.enable=false)').env('TRIBUTARY_NO_AUTO_CREATE_TOPICS'))
    .addOption(new Option('--num-partitions <n>', 'partitions of auto-created topics (num.partitions)').env('TRIBUTARY_NUM_PARTITIONS').default(DEFAULT_CONFIG.defaultPartitions).argParser(integer))
    .action((flags: StartFlags) => runStart(flags));
}
