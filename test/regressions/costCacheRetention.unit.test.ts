import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kind, parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { okrSchema } from '../../schema/build';
import { costPlugin } from '../../schema/costPlugin';

/*
 * Review finding (availability): the cost cache (schema/costPlugin.ts costOf) keys each document's
 * measured costs by JSON.stringify of the request's whole `variables` object, and keeps up to 64 keys per
 * document for as long as Apollo keeps the parsed document (its LRU sizes documents by their own size,
 * not by what is hung on them here). Variables the operation does not declare change nothing about the
 * cost (graphql-js ignores them), yet each distinct value is a new key: one client sending a cheap query
 * with ~1 MiB (the body limit) of junk variables 64 times pins ~64 MiB per query text, and every other
 * query text (an alias, a space) pins another 64 MiB. Nothing evicts it.
 *
 * Here one document and 64 requests with 256 KiB of undeclared variables each: the retained heap should
 * not grow by what the requests sent.
 */

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await okrSchema();
});

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

it('undeclared variables do not make the cost cache keep what the requests sent', async () => {
  const plugin = costPlugin();
  const document = parse('query Units { units { id name } }');
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const junk = 'x'.repeat(256 * 1024);
  const before = heap();
  for (let i = 0; i < 64; i += 1) {
    const contextValue = {};
    const listener = await (plugin.requestDidStart as (r: unknown) => Promise<{ didResolveOperation(r: unknown): Promise<void> }>)({ contextValue });
    await listener.didResolveOperation({ schema, document, operation, request: { variables: { padding: `${i}${junk}` } } });
  }
  const retained = heap() - before;
  expect(document).toBeDefined(); // Apollo keeps the document alive between requests
  expect(retained).toBeLessThan(4 * 1024 * 1024);
});
