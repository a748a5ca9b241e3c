import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * jest.config.js picks each tier's files by name (*.unit.test.ts, *.int.test.ts, *.e2e.test.ts); a
 * test file named otherwise would silently never run. Why: `npm run test:unit` once found no tests.
 */
describe('test files', () => {
  it('all name their tier, so that `npm test` and the tier scripts run every one of them', () => {
    const root = path.resolve(__dirname, '..');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.test\.[cm]?[jt]sx?$/.test(f));
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => !/\.(unit|int|e2e)\.test\.ts$/.test(f))).toEqual([]);
  });
});
