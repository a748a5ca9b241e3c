import { serverAudits, type AuditResult } from 'graphql-http';
import { startTestServer, type TestServer } from '../support/server';

/**
 * GraphQL-over-HTTP conformance of the real server, by graphql-http's own audits (Node's fetch).
 * Every MUST audit has to pass. SHOULD and MAY audits are reported, not required: Apollo 5 answers
 * 400 rather than 200 for parse/validation/variable errors when the client accepts
 * application/json, and its CSRF prevention refuses plain GETs (shared/notes/stack.md).
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('abuseaudits');
});
afterAll(() => t?.close());

const audits = serverAudits({ url: () => t.url, fetchFn: fetch });
const must = audits.filter((a) => a.name.startsWith('MUST'));
const results = new Map<string, AuditResult>();

async function run(audit: (typeof audits)[number]): Promise<AuditResult> {
  const known = results.get(audit.id);
  if (known) return known;
  const result = await audit.fn();
  results.set(audit.id, result);
  return result;
}

async function explain(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return 'ok';
  let body = '';
  try {
    body = await result.response.clone().text();
  } catch {
    body = '(body already read)';
  }
  return `${result.status}: ${result.reason} | HTTP ${result.response.status} ${body.slice(0, 300)}`;
}

describe('graphql-http server audits', () => {
  it('has the 13 MUST audits the spec defines', () => {
    expect(must).toHaveLength(13);
  });

  it.each(must.map((a) => [a.name, a] as const))('%s', async (_name, audit) => {
    const result = await run(audit);
    expect({ audit: audit.name, result: await explain(result) }).toEqual({ audit: audit.name, result: 'ok' });
  });

  it('reports the SHOULD and MAY audits', async () => {
    type Level = 'MUST' | 'SHOULD' | 'MAY';
    const counts: Record<Level, { passed: number; failed: number }> = {
      MUST: { passed: 0, failed: 0 },
      SHOULD: { passed: 0, failed: 0 },
      MAY: { passed: 0, failed: 0 },
    };
    const failed: string[] = [];
    for (const audit of audits) {
      const result = await run(audit);
      const count = counts[audit.name.split(' ')[0] as Level];
      if (result.status === 'ok') count.passed += 1;
      else {
        count.failed += 1;
        failed.push(`  ${audit.name} -> ${await explain(result)}`);
      }
    }
    console.log(
      `graphql-http audits: ${Object.entries(counts)
        .map(([level, c]) => `${level} ${c.passed} passed / ${c.failed} failed`)
        .join(', ')}\n${failed.join('\n')}`,
    );
    expect(counts.MUST).toEqual({ passed: must.length, failed: 0 });
    expect(counts.SHOULD.passed + counts.SHOULD.failed + counts.MAY.passed + counts.MAY.failed).toBe(audits.length - must.length);
  });
});
