import type { EventOf, EventType, RecordedEvent } from '../events/catalogue';
import type { Doc } from './docs';

/**
 * A projection: a named, pure fold from events to documents. It declares the events it handles and
 * which document each event concerns; persistence (SQL or in-memory) is someone else's job, so the
 * same code builds the live tables, rebuilds them, and replays any past moment.
 */
export interface Projection<D extends Doc> {
  readonly name: string;
  readonly handles: ReadonlySet<EventType>;
  /** The id of the document the event concerns. */
  key(event: RecordedEvent): string;
  /** The document after the event; null removes it. */
  evolve(doc: D | null, event: RecordedEvent): D | null;
  /** True when every event creates a fresh document, so nothing needs loading first. */
  readonly createsOnly?: boolean;
}

export const handles = (...types: EventType[]): ReadonlySet<EventType> => new Set(types);

/** What a projection does with one event type: which document it concerns and how it changes it. */
export interface Handler<D extends Doc, K extends EventType> {
  key(event: RecordedEvent<EventOf<K>>): string;
  evolve(doc: D | null, event: RecordedEvent<EventOf<K>>): D | null;
}

/**
 * Every event type in the catalogue, each with its handler or the explicit word 'ignores': an event
 * type added to the catalogue and not decided here does not compile, nor does a key naming none.
 */
export type Handlers<D extends Doc> = { readonly [K in EventType]: Handler<D, K> | 'ignores' };

/** A projection built from a handler map, which it keeps so the declaration can be checked. */
export interface DeclaredProjection<D extends Doc> extends Projection<D> {
  readonly handlers: Handlers<D>;
}

export function projection<D extends Doc>(
  name: string,
  handlers: Handlers<D>,
  options: { createsOnly?: boolean } = {},
): DeclaredProjection<D> {
  // The map is keyed by event type, so the handler found under an event's type is the one for it;
  // the compiler cannot correlate the two through the union, hence the one widening here.
  const handlerOf = (event: RecordedEvent): Handler<D, EventType> | undefined => {
    const handler = handlers[event.type];
    return handler === 'ignores' ? undefined : (handler as Handler<D, EventType>);
  };
  const types = (Object.keys(handlers) as EventType[]).filter((type) => handlers[type] !== 'ignores');
  return {
    name,
    handlers,
    handles: new Set(types),
    ...(options.createsOnly === undefined ? {} : { createsOnly: options.createsOnly }),
    key: (event) => handlerOf(event)?.key(event) ?? '',
    evolve: (doc, event) => {
      const handler = handlerOf(event);
      return handler === undefined ? doc : handler.evolve(doc, event);
    },
  };
}

/** A handler's evolve for events that only change an existing document: none stays none. */
export const whenExists =
  <D extends Doc, E>(evolve: (doc: D, event: E) => D | null) =>
  (doc: D | null, event: E): D | null =>
    doc === null ? null : evolve(doc, event);
