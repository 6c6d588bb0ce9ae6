/**
 * Seeded randomness for everything the engine draws: prompt inits, shuffling, the validation
 * split, perturbations and sampling. Plain JS (mulberry32), so the same seed gives the same
 * numbers on every backend and in every runtime.
 */

export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[];
  /** The generator's whole state: `randomFromState(state)` continues the same sequence. */
  state(): number;
}

/** 32-bit FNV-1a, used to derive independent streams from one user seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A generator for `seed`; `stream` names what it is for ("init", "shuffle", ...) so that drawing
 * more numbers for one purpose never shifts another's sequence.
 */
export function seededRandom(seed: number, stream = ''): Random {
  return randomFromState((Math.floor(seed) ^ hash32(stream)) >>> 0);
}

/** A generator continuing from `state` (a value of `Random.state()`): how a resumed run reshuffles. */
export function randomFromState(state: number): Random {
  if (!(Number.isInteger(state) && state >= 0 && state <= 0xffffffff)) throw new RangeError(`a random state is a 32-bit unsigned integer, got ${state}`);
  let a = state >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
    int: (n) => Math.floor(uniform() * n),
    shuffle<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(uniform() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    state: () => a,
  };
}
