import { rm } from 'node:fs/promises';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__OKR_EMBEDDED__?.stop();
  if (globalThis.__OKR_EMBEDDED_DIR__) await rm(globalThis.__OKR_EMBEDDED_DIR__, { recursive: true, force: true });
}
