/**
 * What `npm test` needs besides node_modules, checked before it starts so that a fresh machine
 * says in one line what is missing and how to install it, instead of failing deep inside vite or
 * Playwright: Node ^20.19 or >= 22.12 (vite 8), Debian's Chromium with its SwiftShader Vulkan
 * driver (the e2e specs, and the Node WebGPU unit tests), the Vulkan loader libvulkan1, and python3
 * (standard library only: the unit tests compile the exported training project's train.py and check its
 * pure-Python parts against the engine).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';

/** vite 8's `engines`: ^20.19.0 || >=22.12.0. */
export const NODE_RANGE = '^20.19.0 || >=22.12.0';
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
export const SWIFTSHADER_ICD_PATH = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface MachineFacts {
  /** process.versions.node, e.g. "20.20.2". */
  nodeVersion: string;
  platform: NodeJS.Platform;
  /** CHROMIUM_PATH, or undefined for Debian's. */
  chromiumPath?: string;
  chromiumRuns: boolean;
  swiftshader: boolean;
  libvulkan: boolean;
  /** `python3 --version` runs (PYTHON overrides the command). */
  python3: boolean;
}

export function nodeVersionOk(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
}

/** One line naming what is missing and the command that installs it, or null when nothing is. */
export function missingForTests(m: MachineFacts, scope: 'all' | 'e2e' = 'all'): string | null {
  const problems: string[] = [];
  const packages: string[] = [];
  if (!nodeVersionOk(m.nodeVersion)) problems.push(`Node ${m.nodeVersion} (vite needs ${NODE_RANGE}: install a newer Node)`);
  if (!m.chromiumRuns) {
    problems.push(m.chromiumPath ? `a Chromium at CHROMIUM_PATH=${m.chromiumPath}` : `Chromium at ${DEFAULT_CHROMIUM}`);
    if (!m.chromiumPath) packages.push('chromium');
  } else if (!m.chromiumPath && !m.swiftshader) {
    problems.push(`Chromium's SwiftShader Vulkan driver (${SWIFTSHADER_ICD_PATH})`);
    packages.push('chromium');
  }
  if (scope === 'all' && !m.libvulkan && m.platform === 'linux') {
    problems.push('the Vulkan loader libvulkan.so.1 (for the Node WebGPU tests)');
    packages.push('libvulkan1');
  }
  if (scope === 'all' && !m.python3) {
    problems.push("python3 (for the checks of the exported project's train.py)");
    packages.push('python3');
  }
  if (problems.length === 0) return null;
  const install =
    packages.length > 0
      ? `; install with: apt-get install -y ${packages.join(' ')} (as root on Debian/Ubuntu, as .ci/run does), or point CHROMIUM_PATH at another Chromium`
      : '';
  return `npm test cannot run here: missing ${problems.join(', ')}${install}`;
}

/** The facts of this machine. */
export function probeMachine(env: NodeJS.ProcessEnv = process.env): MachineFacts {
  const chromium = env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  let chromiumRuns = false;
  try {
    accessSync(chromium, constants.X_OK);
    chromiumRuns = true;
  } catch {
    chromiumRuns = false;
  }
  let libvulkan = true;
  if (process.platform === 'linux') {
    try {
      libvulkan = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('libvulkan.so.1');
    } catch {
      libvulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some((p) => existsSync(p));
    }
  }
  let python3 = true;
  try {
    execFileSync(env.PYTHON || 'python3', ['--version'], { stdio: 'ignore' });
  } catch {
    python3 = false;
  }
  return {
    nodeVersion: process.versions.node,
    platform: process.platform,
    chromiumPath: env.CHROMIUM_PATH || undefined,
    chromiumRuns,
    swiftshader: existsSync(SWIFTSHADER_ICD_PATH),
    libvulkan,
    python3,
  };
}
