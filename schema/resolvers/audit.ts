import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { forbidden } from '../../domain/errors';
import type { StoredCheckpoint } from '../../events/checkpoints';
import type { Context } from '../context';
import { AuditVerification, Checkpoint, ConsistencyProof, InclusionProof } from '../types';

const toCheckpoint = (c: StoredCheckpoint): Checkpoint => ({
  origin: c.origin,
  treeSize: c.treeSize,
  rootHash: c.rootHash.toString('base64'),
  note: c.note,
  keyName: c.keyName,
  signedAt: c.signedAt,
});

/** Whoever may ask for the expensive full recheck and sign checkpoints on request. */
function mustAudit(ctx: Context, what: string): void {
  if (ctx.role !== 'admin' && ctx.role !== 'auditor') {
    throw forbidden('AUDITORS_ONLY', `${what} is for admins and auditors; an ${ctx.role} can read checkpoints and proofs.`);
  }
}

/**
 * The organisation's verifiable log: each organisation's events form an RFC 6962 Merkle tree, and the
 * service signs checkpoints of it; these fields let an auditor keep a checkpoint and check any event or
 * later checkpoint against it without access to the database (README, "Audit").
 */
@Resolver()
export class AuditResolver {
  @Query(() => AuditVerification, {
    description:
      'Recomputes the organisation\'s Merkle tree from its stored events and compares it with the stored tree and its signed ' +
      'checkpoints; reports the first position that no longer matches. Begins at the last verified checkpoint unless full ' +
      '(full: admins and auditors only).',
  })
  async verifyAuditLog(
    @Ctx() ctx: Context,
    @Arg('full', () => Boolean, { nullable: true, description: 'Recompute from the first event (default false).' }) full: boolean | null,
    @Arg('record', () => Boolean, {
      nullable: true,
      description:
        'For admins and auditors: whether a match signs a checkpoint and records where the next check begins (default true). ' +
        'false checks without writing anything (a dashboard that only looks).',
    })
    record: boolean | null,
  ): Promise<AuditVerification> {
    if (full === true) mustAudit(ctx, 'A full recheck of the log');
    const result = await ctx.audit.verify({ full: full === true, record: record !== false });
    return { ...result, firstBrokenPosition: result.firstBrokenPosition === null ? null : String(result.firstBrokenPosition) };
  }

  @Query(() => Checkpoint, { nullable: true, description: 'The organisation\'s latest signed checkpoint (null before the first).' })
  async checkpoint(@Ctx() ctx: Context): Promise<Checkpoint | null> {
    const latest = await ctx.audit.latestCheckpoint();
    return latest === null ? null : toCheckpoint(latest);
  }

  @Query(() => String, {
    description: 'The public key checkpoints are signed with, in signed-note verifier form: <name>+<key id, 8 hex digits>+<base64 of 0x01 || Ed25519 key>.',
  })
  checkpointPublicKey(@Ctx() ctx: Context): string {
    return ctx.audit.publicKey;
  }

  @Query(() => String, { description: 'The origin line of this organisation\'s checkpoints.' })
  checkpointOrigin(@Ctx() ctx: Context): string {
    return ctx.audit.origin;
  }

  @Query(() => InclusionProof, { description: 'Proves that the event at position is in the organisation\'s tree of treeSize events (default: the whole log).' })
  inclusionProof(
    @Arg('position', () => Int) position: number,
    @Arg('treeSize', () => Int, { nullable: true }) treeSize: number | null,
    @Ctx() ctx: Context,
  ): Promise<InclusionProof> {
    return ctx.audit.inclusionProof(position, treeSize);
  }

  @Query(() => ConsistencyProof, { description: 'Proves that the organisation\'s tree of `to` events (default: the whole log) extends the tree of `from` events.' })
  consistencyProof(
    @Arg('from', () => Int) from: number,
    @Arg('to', () => Int, { nullable: true }) to: number | null,
    @Ctx() ctx: Context,
  ): Promise<ConsistencyProof> {
    return ctx.audit.consistencyProof(from, to);
  }

  @Mutation(() => Checkpoint, { nullable: true, description: 'Signs a checkpoint at the organisation\'s current log size (admins and auditors); null while the log is empty.' })
  async recordCheckpoint(@Ctx() ctx: Context): Promise<Checkpoint | null> {
    mustAudit(ctx, 'Signing a checkpoint');
    const recorded = await ctx.audit.recordCheckpoint();
    return recorded === null ? null : toCheckpoint(recorded);
  }
}
