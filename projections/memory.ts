import type { RecordedEvent } from '../events/catalogue';
import type { Doc } from './docs';
import type { ReadModelDeclaration } from './model';
import { ALL_READ_MODELS, READ_MODELS, type ReadModelName } from './models';
import type { Projection } from './projection';
import { DocumentReadModel, type DocumentSource, type Where } from './readModel';

/** Documents of one projection, by id. */
export class DocumentSet<D extends Doc> {
  readonly docs = new Map<string, D>();
  constructor(readonly projection: Projection<D>) {}

  apply(event: RecordedEvent): void {
    if (!this.projection.handles.has(event.type)) return;
    const key = this.projection.key(event);
    const next = this.projection.evolve(this.docs.get(key) ?? null, event);
    if (next === null) this.docs.delete(key);
    else this.docs.set(key, next);
  }

  all(): D[] {
    return [...this.docs.values()];
  }
}

/** Every read model's documents, folded in memory from a prefix of the log. */
class MemorySource implements DocumentSource {
  readonly sets = new Map<string, DocumentSet<Doc>>(ALL_READ_MODELS.map((m) => [m.name, new DocumentSet<Doc>(m)]));

  apply(event: RecordedEvent): void {
    for (const set of this.sets.values()) set.apply(event);
  }

  async find<D extends Doc>(model: ReadModelDeclaration<D>, where: Where): Promise<D[]> {
    const set = this.sets.get(model.name) as DocumentSet<D> | undefined;
    if (set === undefined) throw new Error(`No read model is named ${model.name}.`);
    const conditions = Object.entries(where);
    if (conditions.length === 1 && conditions[0]?.[0] === 'id') {
      const doc = set.docs.get(conditions[0][1]);
      return doc === undefined ? [] : [doc];
    }
    return set.all().filter((doc) => conditions.every(([field, value]) => (doc as unknown as Record<string, unknown>)[field] === value));
  }
}

/**
 * The read model as it stood after a prefix of the log: the same declarations as the tables, folded in
 * memory. The reference the history tables are tested against, and what `okr` replays offline.
 */
export class MemoryReadModel extends DocumentReadModel {
  private readonly memory: MemorySource;

  constructor(asOf: Date | null = null) {
    const memory = new MemorySource();
    super(memory, asOf, true);
    this.memory = memory;
  }

  /** Folds events (in log order) into the documents. */
  apply(events: Iterable<RecordedEvent>): this {
    for (const event of events) this.memory.apply(event);
    return this;
  }

  /** One read model's documents, by id. */
  documents<N extends ReadModelName>(name: N): DocumentSet<Doc> {
    return this.memory.sets.get(READ_MODELS[name].name) as DocumentSet<Doc>;
  }
}
