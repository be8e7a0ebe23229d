/** The service's logger (pino): JSON lines; LOG_LEVEL sets the level (default info, silent in tests). */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID ? 'silent' : 'info')): Logger {
  return pino({ level, base: { service: 'egsde' } });
}
