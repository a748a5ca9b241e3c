import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, type DocumentNode } from 'graphql';

/** README's examples, as tests read them: its code blocks, and its GraphQL operations with sample values. */

const README = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

/** Values of the right shape for each placeholder, as `npm run seed` prints them. */
export const SAMPLE: Record<string, string> = {
  '<current quarter>': '2026-Q4',
  '<previous quarter>': '2026-Q3',
  '<next quarter>': '2027-Q1',
  '<next quarter starts>': '2027-01-01T00:00:00Z',
  '<next quarter ends>': '2027-04-01T00:00:00Z',
  '<earlier instant>': '2026-11-17T00:00:00Z',
  '<company id>': '3f1c2a6e-0000-5000-8000-000000000001',
  '<function id>': '3f1c2a6e-0000-5000-8000-000000000002',
  '<team id>': '3f1c2a6e-0000-5000-8000-000000000003',
  '<function objective id>': '3f1c2a6e-0000-5000-8000-000000000004',
  '<objective id>': '3f1c2a6e-0000-5000-8000-000000000005',
  '<key result id>': '3f1c2a6e-0000-5000-8000-000000000006',
  '<previous objective id>': '3f1c2a6e-0000-5000-8000-000000000008',
  '<ci key result id>': '3f1c2a6e-0000-5000-8000-000000000009',
  // From draftObjective's answer, not from the seed.
  '<new objective id>': '3f1c2a6e-0000-5000-8000-000000000007',
  // From addWebhook's answer.
  '<new webhook id>': '3f1c2a6e-0000-5000-8000-000000000008',
};

export const blocks = (lang: string): string[] =>
  [...README.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1] as string);

export const placeholdersIn = (text: string): string[] => [...text.matchAll(/<[a-z][a-z ]*>/g)].map((m) => m[0]);

/** Each operation of a block on its own, placeholders replaced by sample values. */
export function operations(block: string): { source: string; document: DocumentNode }[] {
  const filled = block.replace(/<[a-z][a-z ]*>/g, (p) => SAMPLE[p] ?? p);
  const document = parse(filled);
  return document.definitions.map((definition) => ({
    source: filled.slice(definition.loc?.start, definition.loc?.end),
    document: { kind: Kind.DOCUMENT, definitions: [definition] },
  }));
}

