import type { Submission } from '../job-service.ts';

/** Most choices (`n`) one request may ask for: each is a job of the queue. */
export const MAX_CHOICES = 8;

const SEEDS = 2 ** 32;

/**
 * The jobs of a request's `n` choices: the same job n times, submitted together, so the choices
 * run in parallel on whatever sequences and workers are free. What makes them differ:
 * - sampled without a seed: each job samples on its own;
 * - with a seed: choice i gets `seed + i` (mod 2^32), so they differ, and the request is still
 *   repeatable (and cacheable, choice by choice); choice 0 keeps the request's seed, so `n: 1` is
 *   the request it was;
 * - greedy (temperature 0): nothing. Every choice is the same text, so the identical jobs are one
 *   job (in-flight sharing), computed once.
 */
export function choiceSubmissions(submission: Submission, n: number): Submission[] {
  const { seed } = submission.sampling;
  return Array.from({ length: n }, (_, i) =>
    i === 0 || seed === undefined ? submission : { ...submission, sampling: { ...submission.sampling, seed: (seed + i) % SEEDS } },
  );
}
