/** Structured, one-JSON-object-per-line logs. Never pass secrets or tokens in `fields`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

export function createLogger(level: keyof typeof RANK = 'info', write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const at = (name: Exclude<keyof typeof RANK, 'silent'>) => (message: string, fields: Record<string, unknown> = {}) => {
    if (RANK[name] < RANK[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg: message, ...fields })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = createLogger('silent');

/** An error as log fields: name, message and stack, for the server log only. */
export const errorFields = (error: unknown): Record<string, unknown> =>
  error instanceof Error ? { err: { name: error.name, message: error.message, stack: error.stack } } : { err: String(error) };
