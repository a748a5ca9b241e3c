import { GRAPHQL_RESPONSE_TYPE, JSON_TYPE, preferredType } from '../../src/http/io';

/** Content negotiation for the answers our HTTP layer writes itself (refusals before GraphQL runs). */
describe('preferredType', () => {
  const offered = [JSON_TYPE, GRAPHQL_RESPONSE_TYPE];

  it.each([
    ["Apollo Client's default", 'application/graphql-response+json,application/json;q=0.9', GRAPHQL_RESPONSE_TYPE],
    ['urql and graphql-http', 'application/graphql-response+json, application/json', GRAPHQL_RESPONSE_TYPE],
    ['the header order decides a tie', 'application/json, application/graphql-response+json', JSON_TYPE],
    ['a lower q loses', 'application/graphql-response+json;q=0.5, application/json', JSON_TYPE],
    ['plain JSON', 'application/json', JSON_TYPE],
    ['a wildcard takes the first offered', '*/*', JSON_TYPE],
    ['application/* likewise', 'application/*', JSON_TYPE],
    ['a specific range beats the wildcard', 'application/graphql-response+json, */*;q=0.1', GRAPHQL_RESPONSE_TYPE],
    ['q=0 excludes', 'application/json;q=0, */*', GRAPHQL_RESPONSE_TYPE],
    ['case and spaces do not matter', ' Application/GraphQL-Response+JSON ; q=1 ', GRAPHQL_RESPONSE_TYPE],
  ])('%s: %s', (_label, accept, expected) => {
    expect(preferredType(accept, offered)).toBe(expected);
  });

  it('returns null when nothing offered is acceptable', () => {
    expect(preferredType('text/html', offered)).toBeNull();
    expect(preferredType('application/json;q=0', offered)).toBeNull();
    expect(preferredType('', offered)).toBeNull();
  });

  it("prefers HTML for a browser's navigation, JSON for curl", () => {
    const all = [JSON_TYPE, GRAPHQL_RESPONSE_TYPE, 'text/html'];
    expect(preferredType('text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', all)).toBe('text/html');
    expect(preferredType('*/*', all)).toBe(JSON_TYPE);
  });
});
