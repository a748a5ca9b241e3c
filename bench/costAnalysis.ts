import 'reflect-metadata';
import { parse, validate, type OperationDefinitionNode } from 'graphql';
import { okrSchema } from '../schema/build';
import { operationCost } from '../schema/cost';
import { queryLimits } from '../schema/limits';

/**
 * How long admission takes per request, on hostile and honest documents: our validation rules
 * (commands, aliases, depth and expanded size, fragments memoised) and the cost analysis
 * (graphql-query-complexity with schema/cost.ts's estimator, which re-expands fragments and is capped
 * at the field limit). Run: node -r ts-node/register/transpile-only bench/costAnalysis.ts
 */
const deep = `objectives(quarterId: "2027-Q1", unitId: "u1") {
  id title status score aspirational version
  unit { name parent { name parent { name } } }
  quarter { id phase }
  parent { title parent { title } contributors { title } }
  contributors { title }
  keyResults { title metric baseline target current confidence score direction kind
    revisions { at reason changes { field from to } }
    checkIns { asOf recordedAt confidence value whatChanged blockers author } } }`;
const levels = 60;
const bomb =
  `query { ...F0 }\n` +
  Array.from({ length: levels }, (_, i) => (i === levels - 1 ? `fragment F${i} on Query { units { id } }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`)).join('\n');
const aliased = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

const CASES: Record<string, string> = {
  'fragment bomb (60 doubling levels)': bomb,
  'honest team quarter query': `{ ${deep} }`,
  'honest team quarter query x 10 aliases': aliased(10, deep),
  'a fragment spread 40 times': `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: objectives(quarterId: "q", unitId: "u${i}") { ...O }`).join(' ')} } fragment O on Objective { ${deep.slice(deep.indexOf('{') + 1, -1)} }`,
  '1000 aliases of events(first: 500)': aliased(1000, 'events(first: 500) { edges { node { type data } } }'),
  '45 aliases of events(first: 500)': aliased(45, 'events(first: 500) { edges { node { type data } } }'),
};

const ms = (f: () => void, runs: number): number => {
  for (let i = 0; i < 20; i += 1) f();
  const start = performance.now();
  for (let i = 0; i < runs; i += 1) f();
  return Math.round(((performance.now() - start) / runs) * 1000) / 1000;
};

async function main(): Promise<void> {
  const schema = await okrSchema();
  const rules = queryLimits();
  for (const [name, text] of Object.entries(CASES)) {
    const document = parse(text);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
    if (!operation) continue;
    let refused = '';
    const rulesMs = ms(() => {
      refused = validate(schema, document, rules).map((e) => String(e.extensions.reason)).join(',');
    }, 20);
    let cost = '';
    const costMs = ms(() => {
      const analysis = operationCost(schema, document, operation, {});
      cost = analysis.kind === 'measured' ? String(analysis.cost) : analysis.kind;
    }, 20);
    process.stdout.write(`${name}: our rules ${rulesMs} ms (${refused || 'admitted'}); cost analysis ${costMs} ms (${cost})\n`);
  }
}

void main();
