import type { LogLevel } from './config.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * A leveled logger writing one line per message to stderr (stdout stays free
 * for command output such as `observe`). Lines carry an ISO timestamp and the
 * level, so they read well in `kubectl logs` and journald alike.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = ORDER[level];
  const emit = (lvl: LogLevel, msg: string) => {
    if (ORDER[lvl] >= threshold) write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}
