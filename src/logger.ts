/**
 * Structured logging with pino: JSON lines on stderr, so stdout stays free for the one line a
 * started broker prints. No log line per message on the hot path.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'tributary' } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for in-process brokers that were not given one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
