#!/usr/bin/env node
/**
 * The `tributary` command: `start` runs a broker (the default when no command is given); the other
 * commands are registered from ./commands, one module each.
 */
import { Command } from 'commander';
import { TributaryError } from '../errors.js';
import { VERSION } from '../version.js';
import { CliError } from './output.js';
import { registerStartCommand } from './commands/start.js';
import { registerConfigCommand } from './commands/config.js';
import { registerTopicCommand } from './commands/topic.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerGroupCommand } from './commands/group.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerStorageCommand } from './commands/storage.js';
import { registerMetricsCommand } from './commands/metrics.js';

export function buildProgram(): Command {
  const program = new Command('tributary')
    .description('A Kafka-compatible event streaming broker for Node.js')
    .version(VERSION);
  registerStartCommand(program);
  registerConfigCommand(program);
  registerTopicCommand(program);
  registerProduceCommand(program);
  registerConsumeCommand(program);
  registerGroupCommand(program);
  registerClusterCommand(program);
  registerStorageCommand(program);
  registerMetricsCommand(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // A usage or broker error is for the user: its message alone. Anything else is a bug: the stack.
    if (error instanceof CliError || error instanceof TributaryError) {
      process.stderr.write(`tributary: ${error.message}\n`);
      process.exit(error instanceof CliError ? error.exitCode : 2);
    }
    process.stderr.write(`tributary: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
