import type { MikroORM } from '@mikro-orm/postgresql';
import { quarterDigest, recordVerification, verifyLog, type LogVerification, type QuarterDigest } from '../events/audit';
import { latestCheckpoint, recordCheckpoint, signCheckpoint, type StoredCheckpoint } from '../events/checkpoints';
import { EventStore } from '../events/store';
import { proveConsistency, proveInclusion, type ConsistencyProofJson, type InclusionProofJson } from '../events/tree';
import type { CheckpointKeys } from './checkpointKeys';
import { inSnapshot, sqlOf } from './database';

/**
 * What an auditor asks of one organisation's log, for the API and the command line alike: verification,
 * signed checkpoints, inclusion and consistency proofs, the public key. Every read is of that
 * organisation alone; proofs and verifications each read one consistent snapshot.
 */
export class AuditService {
  private readonly store = new EventStore();

  constructor(
    private readonly orm: MikroORM,
    readonly keys: CheckpointKeys,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The public key checkpoints are signed with, in signed-note verifier form. */
  get publicKey(): string {
    return this.keys.verifierKey;
  }

  originOf(organisationId: string): string {
    return this.keys.signing.originOf(organisationId);
  }

  /**
   * Verifies the organisation's log (see events/audit.ts verifyLog); when it matches and `record` is not
   * false, signs the checkpoint at the size verified (if none was) and a record of the verification, so
   * the next call begins there.
   */
  async verify(organisationId: string, options: { full?: boolean; record?: boolean } = {}): Promise<LogVerification> {
    const result = await inSnapshot(this.orm, (sql) => verifyLog(sql, organisationId, { full: options.full, signing: this.keys.signing }));
    if (!result.ok || result.rootHash === null || result.treeSize === 0 || options.record === false) return result;
    await this.orm.em.fork().transactional(async (em) => {
      const sql = sqlOf(em);
      await signCheckpoint(sql, organisationId, result.treeSize, Buffer.from(result.rootHash as string, 'base64'), this.keys.signing, this.clock());
      await recordVerification(sql, result, this.keys.signing, this.clock());
    });
    return result;
  }

  /** The organisation's latest signed checkpoint, or null before the first. */
  latest(organisationId: string): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(sqlOf(this.orm.em.fork()), organisationId);
  }

  /** Signs a checkpoint at the organisation's head (the latest one when the head has not moved); null for an empty log. */
  record(organisationId: string): Promise<StoredCheckpoint | null> {
    return this.orm.em.fork().transactional((em) => recordCheckpoint(sqlOf(em), organisationId, this.keys.signing, this.clock()));
  }

  /** The inclusion proof of `position` in the tree of `treeSize` (default: the head). */
  inclusion(organisationId: string, position: number, treeSize?: number | null): Promise<InclusionProofJson> {
    return inSnapshot(this.orm, async (sql) => {
      const head = await this.store.headPosition(sql, organisationId);
      return proveInclusion(sql, organisationId, position, treeSize ?? head, head);
    });
  }

  /** The consistency proof between two tree sizes (to: default the head). */
  consistency(organisationId: string, from: number, to?: number | null): Promise<ConsistencyProofJson> {
    return inSnapshot(this.orm, async (sql) => {
      const head = await this.store.headPosition(sql, organisationId);
      return proveConsistency(sql, organisationId, from, to ?? head, head);
    });
  }

  digest(organisationId: string, quarterId: string): Promise<QuarterDigest> {
    return quarterDigest(sqlOf(this.orm.em.fork()), organisationId, quarterId);
  }
}
