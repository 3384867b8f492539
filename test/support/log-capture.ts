import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/logger.js';

// A logger whose records a test can read: pass `log` to startServer(config, log) and ask
// afterwards what was logged (a refusal must leave a line saying why). Records are the plain
// objects winston builds (level, message and the metadata fields), kept in memory.

export interface LogRecord {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface LogCapture {
  log: Logger;
  records: LogRecord[];
  /** records logged since `mark()` returned `from` */
  since(from: number): LogRecord[];
  /** the current end of the record list */
  mark(): number;
  /** records whose every given field equals the given value (message may be a RegExp) */
  find(match: Partial<Record<string, unknown>> & { message?: string | RegExp }, from?: number): LogRecord[];
  clear(): void;
}

export function captureLog(level = 'debug'): LogCapture {
  const records: LogRecord[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogRecord, _enc, cb) {
      records.push({ ...info });
      cb();
    },
  });
  const log = winston.createLogger({ level, transports: [new winston.transports.Stream({ stream })] });
  const matches = (r: LogRecord, match: Record<string, unknown>): boolean => Object.entries(match).every(([k, v]) =>
    v instanceof RegExp ? typeof r[k] === 'string' && v.test(r[k] as string) : r[k] === v);
  return {
    log,
    records,
    since: (from) => records.slice(from),
    mark: () => records.length,
    find: (match, from = 0) => records.slice(from).filter((r) => matches(r, match)),
    clear: () => {
      records.length = 0;
    },
  };
}
