import { describe, expect, it } from 'vitest';
import { sweepAnnouncement, trainingAnnouncement } from './announce';
import { tabKeyTarget } from './tabs';

const epoch = (n: number, valAccuracy: number | null = 0.625) => ({ epoch: n, trainLoss: 0.69315, valLoss: 0.7, valAccuracy, valMacroF1: null });
const progress = { totalEpochs: 2 } as NonNullable<Parameters<typeof trainingAnnouncement>[0]['progress']>;

describe('trainingAnnouncement: once per epoch and once at the end', () => {
  it.each([
    { name: 'before the first epoch ends', run: { name: 'r', status: 'running' as const, epochs: [], progress }, text: '' },
    { name: 'after epoch 1', run: { name: 'r', status: 'running' as const, epochs: [epoch(1)], progress }, text: 'Epoch 1 of 2 done: training loss 0.693, validation loss 0.700, validation accuracy 62.5%.' },
    { name: 'generation (no accuracy)', run: { name: 'r', status: 'paused' as const, epochs: [epoch(1, null)], progress }, text: 'Epoch 1 of 2 done: training loss 0.693, validation loss 0.700.' },
    { name: 'the end', run: { name: 'tiny.csv · bert', status: 'completed' as const, epochs: [epoch(1), epoch(2)], progress }, text: 'Training completed: tiny.csv · bert.' },
  ])('$name', ({ run, text }) => {
    expect(trainingAnnouncement(run)).toBe(text);
  });

  it('does not change between the steps of an epoch', () => {
    const a = trainingAnnouncement({ name: 'r', status: 'running', epochs: [epoch(1)], progress: { ...progress, step: 9 } as typeof progress });
    const b = trainingAnnouncement({ name: 'r', status: 'running', epochs: [epoch(1)], progress: { ...progress, step: 10 } as typeof progress });
    expect(a).toBe(b);
  });

  it('sweeps: once per ended trial', () => {
    expect(sweepAnnouncement(0, 4, 'running')).toBe('');
    expect(sweepAnnouncement(1, 4, 'running')).toBe('1 of 4 trials ended.');
    expect(sweepAnnouncement(4, 4, 'completed')).toBe('Sweep completed: 4 of 4 trials ended.');
  });
});

describe('tabKeyTarget: the ARIA tabs pattern', () => {
  it.each([
    { key: 'ArrowRight', from: 0, to: 1 },
    { key: 'ArrowRight', from: 2, to: 0 },
    { key: 'ArrowLeft', from: 0, to: 2 },
    { key: 'ArrowLeft', from: 2, to: 1 },
    { key: 'Home', from: 2, to: 0 },
    { key: 'End', from: 0, to: 2 },
    { key: 'Enter', from: 1, to: null },
    { key: 'ArrowDown', from: 1, to: null },
  ])('$key from $from -> $to', ({ key, from, to }) => {
    expect(tabKeyTarget(key, from, 3)).toBe(to);
  });
});
