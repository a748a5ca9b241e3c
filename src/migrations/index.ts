import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000001EventStore } from './Migration20261121000001EventStore';
import { Migration20261121000002ReadModels } from './Migration20261121000002ReadModels';
import { Migration20261121000003History } from './Migration20261121000003History';
import { Migration20261121000004Notify } from './Migration20261121000004Notify';
import { Migration20261121000005HashChain } from './Migration20261121000005HashChain';
import { Migration20261121000006IdempotencyPerActor } from './Migration20261121000006IdempotencyPerActor';
import { Migration20261122000001RateLimits } from './Migration20261122000001RateLimits';
import { Migration20261204000001OrganisationLogs } from './Migration20261204000001OrganisationLogs';
import { Migration20261205000001TemporalReadModels } from './Migration20261205000001TemporalReadModels';
import { Migration20261207000001ReadModelLookups } from './Migration20261207000001ReadModelLookups';
import { Migration20261215000001Webhooks } from './Migration20261215000001Webhooks';
import { Migration20261216000001MeasurementsAndCarryOver } from './Migration20261216000001MeasurementsAndCarryOver';
import { Migration20261217000001StreamFacts } from './Migration20261217000001StreamFacts';

/** Every migration, in order. Listed explicitly so they run the same from TypeScript or compiled code. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000001EventStore', class: Migration20261121000001EventStore },
  { name: 'Migration20261121000002ReadModels', class: Migration20261121000002ReadModels },
  { name: 'Migration20261121000003History', class: Migration20261121000003History },
  { name: 'Migration20261121000004Notify', class: Migration20261121000004Notify },
  { name: 'Migration20261121000005HashChain', class: Migration20261121000005HashChain },
  { name: 'Migration20261121000006IdempotencyPerActor', class: Migration20261121000006IdempotencyPerActor },
  { name: 'Migration20261122000001RateLimits', class: Migration20261122000001RateLimits },
  { name: 'Migration20261204000001OrganisationLogs', class: Migration20261204000001OrganisationLogs },
  { name: 'Migration20261205000001TemporalReadModels', class: Migration20261205000001TemporalReadModels },
  { name: 'Migration20261207000001ReadModelLookups', class: Migration20261207000001ReadModelLookups },
  { name: 'Migration20261215000001Webhooks', class: Migration20261215000001Webhooks },
  { name: 'Migration20261216000001MeasurementsAndCarryOver', class: Migration20261216000001MeasurementsAndCarryOver },
  { name: 'Migration20261217000001StreamFacts', class: Migration20261217000001StreamFacts },
];
