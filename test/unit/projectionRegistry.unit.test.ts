import { EVENT_TYPES, type EventType, type RecordedEvent } from '../../events/catalogue';
import { READ_MODELS } from '../../projections/models';
import type { Doc, QuarterDoc } from '../../projections/docs';
import { column, readModel, type DocOf } from '../../projections/model';
import { projection, whenExists, type DeclaredProjection, type Handlers } from '../../projections/projection';

/**
 * A projection declares what it does with every event type, and what it declares is what it does:
 * the handles set that persistence filters on is derived from the handler map, never listed beside it.
 */
const projections: ReadonlyArray<DeclaredProjection<Doc>> = Object.values(READ_MODELS) as unknown as DeclaredProjection<Doc>[];

const declared = (p: DeclaredProjection<Doc>): EventType[] =>
  (Object.keys(p.handlers) as EventType[]).filter((type) => p.handlers[type] !== 'ignores');

describe('projection registry', () => {
  it('covers every read model', () => {
    expect(projections.map((p) => p.name).sort()).toEqual(
      ['checkIns', 'effort', 'keyResults', 'measurements', 'objectives', 'quarters', 'retrospectives', 'units'].sort(),
    );
  });

  it.each(projections.map((p) => [p.name, p]))('%s handles exactly the event types it gives a handler', (_name, p) => {
    expect([...p.handles].sort()).toEqual(declared(p).sort());
    expect(Object.keys(p.handlers).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(projections.map((p) => [p.name, p]))('%s leaves the document untouched for an event it ignores', (_name, p) => {
    const doc = { organisationId: 'org', id: 'd' };
    for (const type of EVENT_TYPES.filter((t) => !p.handles.has(t))) {
      const event = { type, data: {}, metadata: { organisationId: 'org' } } as unknown as RecordedEvent;
      expect(p.evolve(doc, event)).toBe(doc);
      expect(p.key(event)).toBe('');
    }
  });

  it('keeps createsOnly for the projections whose every event makes a fresh document', () => {
    expect(projections.filter((p) => p.createsOnly).map((p) => p.name).sort()).toEqual(['checkIns', 'measurements', 'retrospectives']);
  });
});

/*
 * What must not compile; `npx tsc --noEmit` (run in CI) fails if any of these stops being an error.
 * Each case is built at run time too, where it is harmless.
 */
const ignoringAll = Object.fromEntries(EVENT_TYPES.map((type) => [type, 'ignores'])) as Handlers<QuarterDoc>;
const { QuarterClosed: _left, ...missingQuarterClosed } = ignoringAll;

describe('handler maps the compiler refuses', () => {
  it('refuses a map that leaves an event type undecided', () => {
    // @ts-expect-error QuarterClosed is neither handled nor ignored
    const p = projection<QuarterDoc>('missing', missingQuarterClosed);
    expect(p.handles.size).toBe(0);
  });

  it('refuses a map naming an event type the catalogue does not have', () => {
    const p = projection<QuarterDoc>('unknown', {
      ...ignoringAll,
      // @ts-expect-error QuarterReopened is no event type
      QuarterReopened: 'ignores',
    });
    expect(p.handles.size).toBe(0);
  });

  it('refuses a handler reading the data of another event type', () => {
    const p = projection<QuarterDoc>('narrowed', {
      ...ignoringAll,
      QuarterClosed: {
        key: (e) => e.data.quarterId,
        evolve: (doc, e) => doc && { ...doc, closedAt: new Date(e.data.closedAt) },
      },
      QuarterPlanned: {
        key: (e) => e.data.quarterId,
        // @ts-expect-error closedAt is QuarterClosed's; a QuarterPlanned handler sees QuarterPlanned data
        evolve: (doc, e) => doc && { ...doc, closedAt: new Date(e.data.closedAt) },
      },
    });
    expect([...p.handles].sort()).toEqual(['QuarterClosed', 'QuarterPlanned']);
  });

  it('narrows through whenExists as well', () => {
    const p = projection<QuarterDoc>('narrowedWhenExists', {
      ...ignoringAll,
      QuarterPlanned: {
        key: (e) => e.data.quarterId,
        // @ts-expect-error closedAt is QuarterClosed's, even for a handler of existing documents only
        evolve: whenExists((doc, e) => ({ ...doc, closedAt: new Date(e.data.closedAt) })),
      },
    });
    expect([...p.handles]).toEqual(['QuarterPlanned']);
  });

  it('refuses anything but a handler or the word ignores', () => {
    const p = projection<QuarterDoc>('misspelt', {
      ...ignoringAll,
      // @ts-expect-error 'ignored' is not 'ignores'
      QuarterClosed: 'ignored',
    });
    expect(p.handles.has('QuarterClosed')).toBe(true);
  });
});

/*
 * A read model's declaration (projections/model.ts readModel) is checked the same way, and its document
 * type is derived from its columns: what a handler returns must be a whole document of those columns.
 */
const tinyColumns = { name: column.text(), closedAt: column.nullable(column.time()) };
type TinyDoc = DocOf<typeof tinyColumns>;
const ignoringAllTiny = Object.fromEntries(EVENT_TYPES.map((type) => [type, 'ignores'])) as Handlers<TinyDoc>;
const { QuarterPlanned: _planned, ...tinyMissingPlanned } = ignoringAllTiny;

describe('read-model declarations the compiler refuses', () => {
  const declare = (handlers: Handlers<TinyDoc>) =>
    readModel({ name: 'tiny', table: 'okr_tiny', columns: tinyColumns, lookups: [['name']], order: () => 0, handlers });

  it('derives the document from the columns, and refuses a handler that leaves a column out', () => {
    const model = declare({
      ...ignoringAllTiny,
      QuarterPlanned: {
        key: (e) => e.data.quarterId,
        // @ts-expect-error closedAt is a column: a document without it is not a TinyDoc
        evolve: (_doc, e) => ({ organisationId: e.metadata.organisationId, id: e.data.quarterId, name: e.data.quarterId }),
      },
    });
    expect(model.columns.map((c) => c.name)).toEqual(['organisation_id', 'id', 'name', 'closed_at']);
  });

  it('refuses a declaration that leaves an event type undecided', () => {
    // @ts-expect-error QuarterPlanned is neither handled nor ignored
    const model = readModel({ name: 'tiny', table: 'okr_tiny', columns: tinyColumns, lookups: [], order: () => 0, handlers: tinyMissingPlanned });
    expect(model.handles.size).toBe(0);
  });

  it('refuses a lookup by a field that is not a column', () => {
    // @ts-expect-error unitId is not one of its columns
    const model = readModel({ name: 'tiny', table: 'okr_tiny', columns: tinyColumns, lookups: [['unitId']], order: () => 0, handlers: ignoringAllTiny });
    expect(model.lookups).toEqual([['unitId']]);
  });

  it('reads a row back as the document, instants parsed (year 1 included), and writes it as a row', () => {
    const model = declare(ignoringAllTiny);
    const doc = model.toDoc({ organisation_id: 'o', id: 'q', name: 'Q', closed_at: '0001-04-01 00:00:00+00' });
    expect(doc).toEqual({ organisationId: 'o', id: 'q', name: 'Q', closedAt: new Date('0001-04-01T00:00:00.000Z') });
    expect(model.toRow(doc)).toEqual({ organisation_id: 'o', id: 'q', name: 'Q', closed_at: '0001-04-01T00:00:00.000Z' });
    expect(model.toDoc({ organisation_id: 'o', id: 'q', name: 'Q', closed_at: Date.UTC(2027, 0, 1) }).closedAt).toEqual(new Date('2027-01-01T00:00:00Z'));
  });
});
