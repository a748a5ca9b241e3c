import { isWellFormedText } from '../domain/validate';

/** The path of the first string inside `value` (a parsed request) that is not well-formed text, if any. */
export function illFormedPath(value: unknown, path = '$', depth = 0): string | null {
  if (typeof value === 'string') return isWellFormedText(value) ? null : path;
  if (depth > 64 || value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!isWellFormedText(key)) return `${path}[key]`;
    const found = illFormedPath(item, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}
