import { EVENT_TYPES, SCHEMA_VERSION, type EventType } from '../../events/catalogue';

/**
 * The event catalogue's registry is checked by the compiler: a type added to the union and not
 * registered does not compile (the lines under @ts-expect-error are type-checked by `npm run lint`,
 * which fails if they ever compile). Why: an unregistered type used to compile and fail at run time
 * with INTERNAL_SERVER_ERROR.
 */
describe('the event catalogue', () => {
  it('registers every event type once, with a schema version', () => {
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    expect(EVENT_TYPES.length).toBe(17);
    for (const type of EVENT_TYPES) expect(SCHEMA_VERSION[type]).toBeGreaterThanOrEqual(1);
  });

  it('does not compile a registry that misses a type or names an unknown one', () => {
    // @ts-expect-error every event type must be registered
    const missing: { readonly [K in EventType]: number } = { UnitRegistered: 1 };
    const unknown: { readonly [K in EventType]: number } = {
      ...SCHEMA_VERSION,
      // @ts-expect-error a key that names no event type
      SomethingHappened: 1,
    };
    expect(Object.keys(missing)).toEqual(['UnitRegistered']);
    expect(Object.keys(unknown)).toContain('UnitRegistered');
  });
});
