import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { jobLockOptions } from '../../core/job-locks.ts';

describe('jobLockOptions', () => {
  it('renews the default 5 s lock every second and checks for stalled jobs every second', () => {
    expect(jobLockOptions(loadConfig({}).JOB_LOCK_MS)).toEqual({ lockDuration: 5000, lockRenewTime: 1000, stalledInterval: 1000 });
  });

  it('keeps renewing every second under a long lock, and checks every fifth of it', () => {
    expect(jobLockOptions(30_000)).toEqual({ lockDuration: 30_000, lockRenewTime: 1000, stalledInterval: 6000 });
  });

  it('renews the shortest lock twice in its life, and checks no more than once a second', () => {
    expect(jobLockOptions(1000)).toEqual({ lockDuration: 1000, lockRenewTime: 500, stalledInterval: 1000 });
  });
});
