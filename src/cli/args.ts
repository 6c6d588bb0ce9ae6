/**
 * What every command-line tool here shares: options parsed strictly (an unknown flag or a missing
 * value is an error, not a raw TypeError), every value checked before any work starts, `--help`
 * (and -h), and one way to fail:
 *
 * - UsageError: a bad option. One line, then the usage; exit 2.
 * - InputError: an input refused before work (a CSV that cannot be read, data that would train
 *   nonsense). One line (or a few, one per problem); exit 2.
 * - anything else failed during the work: one line; exit 1.
 *
 * The stack trace is printed only with --debug or DEBUG=1.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT_FAILURE = 1;
export const EXIT_REFUSED = 2;

/** A bad option or option value: printed with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An input refused before any work: printed without the usage. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** One CLI: its name (as in `npm run <name>`) and its usage text. */
export interface Command {
  name: string;
  usage: string;
}

type OptionTable = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean | string[] | boolean[] }>;
type OptionValue<O> = O extends { type: 'boolean' } ? (O extends { multiple: true } ? boolean[] : boolean) : O extends { multiple: true } ? string[] : string;
/** The parsed values: present when given or defaulted. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]: T[K] extends { default: unknown } ? OptionValue<T[K]> : OptionValue<T[K]> | undefined };

/** Options every CLI takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} as const;

export const wantsHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');
export const wantsDebug = (argv: readonly string[] = process.argv) => argv.includes('--debug') || !!process.env.DEBUG;

/**
 * node:util's parseArgs in strict mode, its errors turned into UsageErrors with the first sentence
 * of its message ("Unknown option '--lr2'", "Option '--lr <value>' argument missing").
 */
export function parseOptions<const T extends OptionTable>(argv: string[], options: T): OptionValues<T> {
  // parseArgs takes "--lr -1" for two flags; a negative number after a string option is its value.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (options[name]?.type === 'string' && /^-[\d.]/.test(argv[i + 1] ?? '')) args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  try {
    const config: ParseArgsConfig = { args, options: { ...options, ...COMMON_OPTIONS }, strict: true, allowPositionals: false };
    const { help: _help, debug: _debug, ...rest } = parseArgs(config).values;
    return rest as OptionValues<T>;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(message.split(/\.(?:\s|$)/)[0].replace(/^Unexpected argument/, 'unexpected argument'));
  }
}

// -------------------------------------------------------------------------------------------
// Values

export interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  min?: number;
  /** The value must be greater than `min`, not equal to it. */
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
}

/** "a whole number >= 1", "a number >= 0 and < 1". */
function describeRule(rule: NumberRule): string {
  const bounds = [
    rule.min === undefined ? '' : `${rule.minExclusive ? '>' : '>='} ${rule.min}`,
    rule.max === undefined ? '' : `${rule.maxExclusive ? '<' : '<='} ${rule.max}`,
  ].filter(Boolean);
  return `${rule.integer ? 'a whole number' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
}

/** `--name`'s value as a number obeying `rule`, `fallback` when absent; a UsageError otherwise. */
export function numberOption(value: string | undefined, name: string, rule: NumberRule, fallback: number): number;
export function numberOption(value: string | undefined, name: string, rule: NumberRule): number | undefined;
export function numberOption(value: string | undefined, name: string, rule: NumberRule, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  const ok =
    Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (rule.min === undefined || (rule.minExclusive ? n > rule.min : n >= rule.min)) &&
    (rule.max === undefined || (rule.maxExclusive ? n < rule.max : n <= rule.max));
  if (!ok) throw new UsageError(`--${name} must be ${describeRule(rule)}, not "${value}"`);
  return n;
}

/** `--name`'s value when it is one of `allowed`. */
export function choiceOption<const A extends readonly string[]>(value: string, name: string, allowed: A): A[number] {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be ${allowed.length > 2 ? `one of ${allowed.join(', ')}` : allowed.join(' or ')}, not "${value}"`);
  }
  return value as A[number];
}

export function requireOption<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

// -------------------------------------------------------------------------------------------
// Paths, checked before work so that a typo fails in a second, not after a run

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** The path's stat, or undefined when nothing is there (a path through a file included). */
function statOrNull(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** An existing, readable file. */
export function readableFile(path: string, name: string): string {
  const stat = statOrNull(path);
  if (!stat) throw new UsageError(`--${name} ${path}: no such file`);
  if (!stat.isFile()) throw new UsageError(`--${name} ${path} is not a file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`--${name} ${path} is not readable`);
  }
  return path;
}

/** An existing folder; with `files`, one that holds each of them. */
export function existingFolder(path: string, name: string, files: readonly string[] = []): string {
  const stat = statOrNull(path);
  if (!stat) throw new UsageError(`--${name} ${path}: no such folder`);
  if (!stat.isDirectory()) throw new UsageError(`--${name} ${path} is not a folder`);
  for (const f of files) {
    if (!statOrNull(resolve(path, f))?.isFile()) throw new UsageError(`--${name} ${path} has no ${f}`);
  }
  return path;
}

/** A checkpoint: a URL, or a folder with config.json. */
export function modelSource(path: string, name = 'model'): string {
  return isUrl(path) ? path : existingFolder(path, name, ['config.json']);
}

/**
 * A folder the command may write into: an existing writable folder, or one that can be created
 * (its nearest existing ancestor is a writable folder). Nothing is created here.
 */
export function writableFolder(path: string, name: string): string {
  let at = resolve(path);
  for (;;) {
    const stat = statOrNull(at);
    if (stat) {
      if (!stat.isDirectory()) {
        throw new UsageError(at === resolve(path) ? `--${name} ${path} is a file, not a folder` : `--${name} ${path} cannot be created: ${at} is a file`);
      }
      try {
        accessSync(at, constants.W_OK);
      } catch {
        throw new UsageError(`--${name} ${path} is not writable (${at})`);
      }
      return path;
    }
    const parent = dirname(at);
    if (parent === at) throw new UsageError(`--${name} ${path} cannot be created`);
    at = parent;
  }
}

// -------------------------------------------------------------------------------------------
// Running

/** The one line (or lines) an error is reported as, and the exit code. */
export function describeFailure(e: unknown, command: Command, debug: boolean): { text: string; code: number } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError) return { text: `${command.name}: ${message}\n${command.usage}`, code: EXIT_REFUSED };
  if (e instanceof InputError) return { text: message.split('\n').map((l) => `${command.name}: ${l}`).join('\n'), code: EXIT_REFUSED };
  if (debug && e instanceof Error && e.stack) return { text: e.stack, code: EXIT_FAILURE };
  return { text: `${command.name}: error: ${message.replace(/\s*\n\s*/g, ' ')}`, code: EXIT_FAILURE };
}

function fail(e: unknown, command: Command): never {
  const { text, code } = describeFailure(e, command, wantsDebug());
  console.error(text);
  process.exit(code);
}

/**
 * Starts a CLI: failures anywhere after this (module top-level code too) are reported as
 * described above; `--help` prints the usage and exits 0. Returns the parsed options.
 */
export function startCommand<T>(command: Command, parse: (argv: string[]) => T, argv = process.argv.slice(2)): T {
  process.on('uncaughtException', (e) => fail(e, command));
  process.on('unhandledRejection', (e) => fail(e, command));
  if (wantsHelp(argv)) {
    console.log(command.usage);
    process.exit(0);
  }
  try {
    return parse(argv);
  } catch (e) {
    fail(e, command);
  }
}
