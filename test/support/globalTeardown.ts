export default async function globalTeardown(): Promise<void> {
  await globalThis.__OKR_EMBEDDED__?.stop();
}
