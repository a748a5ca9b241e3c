import type { EventType, RecordedEvent } from '../events/catalogue';
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
