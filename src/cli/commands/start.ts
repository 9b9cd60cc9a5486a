/**
 * `tributary start` (also plain `tributary`): runs a broker in the foreground of this process,
 * prints one line once it listens, and shuts down cleanly on SIGTERM or SIGINT: stop accepting,
 * answer in-flight requests, flush and fsync the log, exit 0.
 *
 * Its flags are derived from the settings table (config.ts): `--<name with dots as hyphens>` for
 * every setting, its aliases (hidden from help) and its shortcuts (`--memory`,
 * `--no-auto-create-topics`). `--config FILE` (or TRIBUTARY_CONFIG) names a configuration file.
 * Precedence: flag > environment > file > default.
 */
import { Option, type Command } from 'commander';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, cliFlags, loadConfigFile, resolveConfig, type ResolvedConfig } from '../../config.js';
import { createLogger } from '../../logger.js';
import { VERSION } from '../../version.js';
import { usageError, usageExitCodes, type CliError } from '../output.js';

/** Adds `--config` and a flag for every setting to `command`. */
export function addSettingFlags(command: Command): Command {
  command.addOption(new Option(`${CONFIG_FILE_FLAG} <file>`, `configuration file in Kafka's server.properties format [env: ${CONFIG_FILE_ENV}]`));
  for (const flag of cliFlags()) {
    const option = new Option(flag.placeholder === null ? flag.flag : `${flag.flag} ${flag.placeholder}`, `${flag.description} [env: ${flag.env}]`);
    if (flag.hidden) option.hideHelp();
    command.addOption(option);
  }
  return command;
}

/** The configuration from the command line's flags, the environment and the file they name. */
export async function resolveCommandLineConfig(command: Command, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const flags: Array<{ flag: string; value: string | true }> = [];
  const settingFlags = new Set(cliFlags().map((flag) => flag.flag));
  let configPath: string | undefined;
  for (const option of command.options) {
    const attribute = option.attributeName();
    if (command.getOptionValueSource(attribute) !== 'cli' || option.long === undefined) continue;
    if (option.long !== CONFIG_FILE_FLAG && !settingFlags.has(option.long)) continue; // the command's own options
    const value: unknown = command.getOptionValue(attribute);
    if (option.long === CONFIG_FILE_FLAG) configPath = String(value);
    else flags.push({ flag: option.long, value: option.required ? String(value) : true });
  }
  configPath ??= env[CONFIG_FILE_ENV] === '' ? undefined : env[CONFIG_FILE_ENV];
  const file = configPath === undefined ? null : await loadConfigFile(configPath);
  return resolveConfig({ file, env, flags });
}

async function runStart(command: Command): Promise<void> {
  const { config, warnings } = await resolveCommandLineConfig(command);
  const logger = createLogger(config.logLevel, config.logFormat);
  for (const warning of warnings) logger.warn(warning);
  // Loaded here, not at the top: the other commands need none of the broker.
  const { startBroker } = await import('../../broker.js');
  const broker = await startBroker({ ...config, logger });
  const storage = config.storage === 'memory' ? 'in memory (nothing is kept)' : `data in ${config.dataDir}`;
  const admin = broker.adminPort === null ? '' : `, admin on http://${urlHost(broker.adminHost!)}:${broker.adminPort}`;
  process.stdout.write(
    `Tributary ${VERSION} listening on ${broker.host}:${broker.port} ` +
      `(advertised as ${broker.advertisedHost}:${broker.advertisedPort}, node ${broker.nodeId}, cluster ${broker.clusterId}, ${storage}${admin})\n`,
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

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function registerStartCommand(program: Command): void {
  const command = program
    .command('start', { isDefault: true })
    .description('run a broker in the foreground')
    // `start` takes no arguments; as the default command it receives the words of a mistyped
    // command (`tributary topik list`), which deserve a better answer than "too many arguments".
    .allowExcessArguments(true);
  addSettingFlags(usageExitCodes(command)).action((_flags: unknown, self: Command) => {
    if (self.args.length > 0) {
      const typedStart = program.args[0] === 'start';
      throw typedStart ? usageError(`start takes no arguments, only options (got '${self.args[0]}')`) : unknownCommand(program, self.args[0]!);
    }
    return runStart(self);
  });
}

/** A usage error naming the word that is not a command, and the commands there are. */
function unknownCommand(program: Command, word: string): CliError {
  const names = program.commands.map((command) => command.name());
  return usageError(`unknown command '${word}'; the commands are ${names.join(', ')} (see tributary --help)`);
}
