/**
 * Structured logging with pino: JSON lines on stderr, so stdout stays free for the one line a
 * started broker prints. No log line per message on the hot path: requests are counted by the
 * metrics, not logged; connections are logged at debug level when they open and close.
 *
 * On a terminal the lines are printed readably by pino-pretty instead (`log.format`: `auto`, the
 * default, picks pretty when stderr is a TTY). pino-pretty runs in this thread, as a stream, rather
 * than as a pino transport: a transport starts a worker thread, which costs start-up time, and a
 * terminal's log rate does not need one. It is loaded only when used, so JSON logging (services,
 * tests, pipes) never pays for it.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const require = createRequire(import.meta.url);

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/** Whether `format` means readable output on this process's stderr. */
export function isPretty(format: LogFormat, stderrIsTerminal = process.stderr.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stderrIsTerminal);
}

export function createLogger(level: LogLevel, format: LogFormat = 'json'): Logger {
  const options = { level, base: { service: 'tributary' } };
  if (isPretty(format)) {
    const pretty = require('pino-pretty') as PrettyFactory;
    const stream = pretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      singleLine: true,
    });
    return pino(options, stream);
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for in-process brokers that were not given one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
