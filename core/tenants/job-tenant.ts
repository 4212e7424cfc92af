import type { JobData } from '../job-contract.ts';

/** The tenant of jobs queued before tenants existed. */
export const LEGACY_TENANT = 'anonymous';

/** The tenant a job belongs to, whichever process reads it. */
export function jobTenant(data: Pick<JobData, 'tenant'>): string {
  return data.tenant ?? LEGACY_TENANT;
}
