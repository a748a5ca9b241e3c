/*
 * Import before @apollo/client: turns on its development checks (an application bundled for
 * development gets them through the "development" export condition, which jest does not set), among
 * them the cache's warnings about data lost when one answer overwrites another.
 */
(globalThis as { __DEV__?: boolean }).__DEV__ = true;

export {};
