import type { Logger } from './logger';

type Level = 'info' | 'warn' | 'error';

/**
 * Keeps a noisy client from flooding the log: per window (a minute by default) at most `perKey` lines
 * for one key (a person) and `overall` lines in all reach the logger. The others are counted, and
 * when the window ends one summary line says how many were left out, and for whom.
 */
export class LogThrottle {
  private readonly keys = new Map<string, { logged: number; suppressed: number; fields: Record<string, unknown> }>();
  private logged = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly perKey: number,
    private readonly overall: number,
    private readonly windowMs = 60_000,
  ) {}

  /**
   * Logs the line unless this key or everyone has used up the window. `who` names the key in the
   * summary (e.g. organisation and subject); it is kept only until the window ends.
   */
  log(level: Level, key: string, who: Record<string, unknown>, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs).unref();
    let entry = this.keys.get(key);
    if (!entry) {
      entry = { logged: 0, suppressed: 0, fields: who };
      this.keys.set(key, entry);
    }
    if (entry.logged < this.perKey && this.logged < this.overall) {
      entry.logged += 1;
      this.logged += 1;
      this.logger[level](message, { ...who, ...fields });
      return;
    }
    entry.suppressed += 1;
    this.suppressed += 1;
  }

  /** Ends the window now: one summary line if anything was left out, then a fresh window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed > 0) {
      const top = [...this.keys.values()]
        .filter((e) => e.suppressed > 0)
        .sort((a, b) => b.suppressed - a.suppressed)
        .slice(0, 5)
        .map((e) => ({ ...e.fields, suppressed: e.suppressed }));
      this.logger.warn('log lines suppressed: too many in one window', {
        suppressed: this.suppressed,
        windowMs: this.windowMs,
        perKey: this.perKey,
        overall: this.overall,
        top,
      });
    }
    this.keys.clear();
    this.logged = 0;
    this.suppressed = 0;
  }
}
