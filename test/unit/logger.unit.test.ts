import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

/** Logs are JSON lines that never carry credentials, whatever a caller passes by mistake. */
it('writes one JSON object per line and redacts credentials', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('info', sink);
  logger.debug('hidden below the level');
  logger.info('request', { requestId: 'r-1', authorization: 'Bearer abc.def.ghi', headers: { authorization: 'Bearer x' }, nested: { token: 't' } });
  await new Promise((r) => setImmediate(r));
  expect(lines).toHaveLength(1);
  const entry = JSON.parse(lines[0] as string);
  expect(entry).toMatchObject({ level: 'info', msg: 'request', requestId: 'r-1', authorization: '[redacted]', headers: { authorization: '[redacted]' }, nested: { token: '[redacted]' } });
  expect(lines[0]).not.toContain('abc.def.ghi');
  expect(typeof entry.time).toBe('string');
});
