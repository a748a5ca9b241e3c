/**
 * The Apollo Server hello-world the GraphQL figure is compared with: Apollo Server 5's "Get started"
 * example as the documentation gives it (a schema from type definitions with one `hello` field, and
 * `startStandaloneServer`), run by the benchmark in a node process of its own with the same node flags
 * as the ledger's server (bench/serverProcess.ts). Listens on 127.0.0.1:$PORT; GET /readyz answers 200
 * once it listens (standalone's handler answers any path).
 *
 * Not for running by hand: `npm run bench` starts and stops it.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = `#graphql
  type Query {
    hello: String
  }
`;

const resolvers = {
  Query: {
    hello: () => 'world',
  },
};

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? '0');
  const server = new ApolloServer({ typeDefs, resolvers });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  process.stderr.write(`Apollo Server hello-world ready at ${url}\n`);
  const stop = () => void server.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`the hello-world could not start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
