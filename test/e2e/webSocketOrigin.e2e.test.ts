import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Why: CORS does not cover WebSockets, so in local development mode (no token needed) any web site a
 * developer visits could open ws://127.0.0.1:4000/graphql and follow the organisation's events. The upgrade
 * is refused (403) for a page of another origin than the server's own, the allowed ones and, in local
 * development mode, loopback pages; clients that are not browsers send no Origin and are unaffected.
 */
function upgrade(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', origin ? { headers: { origin } } : {});
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(String(error))) reject(error);
    });
  });
}

describe('WebSocket upgrades from web pages', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('wsorigin', undefined, undefined, { corsOrigins: ['https://okr.example.com'] });
  });
  afterAll(() => t?.close());

  it('refuses a page of another web site', async () => {
    expect(await upgrade(t.url, 'https://evil.example')).toBe(403);
    expect(await upgrade(t.url, 'http://localhost.evil.example')).toBe(403);
  });

  it("admits the server's own origin, an allowed origin, a loopback page in local mode, and clients without Origin", async () => {
    expect(await upgrade(t.url, new URL(t.url).origin)).toBe(101);
    expect(await upgrade(t.url, 'https://okr.example.com')).toBe(101);
    expect(await upgrade(t.url, 'http://localhost:5173')).toBe(101);
    expect(await upgrade(t.url)).toBe(101);
  });
});
