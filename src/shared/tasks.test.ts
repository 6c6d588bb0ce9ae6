import { describe, expect, it } from 'vitest';
import { outcomeStatus } from './tasks';

describe('outcomeStatus: how a run or a sweep trial ended', () => {
  it.each([
    ['completed', 'completed'],
    ['early-stopped', 'completed'],
    ['stopped', 'stopped'],
    ['non-finite-loss', 'failed'],
  ] as const)('%s -> %s', (stopReason, status) => {
    expect(outcomeStatus({ stopReason })).toBe(status);
  });
});
