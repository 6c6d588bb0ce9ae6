import { describe, expect, it } from 'vitest';
import { missingForTests, nodeVersionOk, type MachineFacts } from './preflight';

const ready: MachineFacts = { nodeVersion: '20.20.2', platform: 'linux', chromiumRuns: true, swiftshader: true, libvulkan: true, python3: true };

describe('npm test preflight', () => {
  it.each([
    { name: 'a ready machine', facts: {}, line: null },
    {
      name: 'no Chromium',
      facts: { chromiumRuns: false, swiftshader: false },
      line: 'npm test cannot run here: missing Chromium at /usr/bin/chromium; install with: apt-get install -y chromium (as root on Debian/Ubuntu, as .ci/run does), or point CHROMIUM_PATH at another Chromium',
    },
    { name: 'no Vulkan loader', facts: { libvulkan: false }, line: /missing the Vulkan loader libvulkan\.so\.1 .*apt-get install -y libvulkan1/ },
    { name: 'neither', facts: { chromiumRuns: false, libvulkan: false }, line: /apt-get install -y chromium libvulkan1/ },
    { name: 'no python3', facts: { python3: false }, line: /missing python3 \(for the checks of the exported project's train\.py\); install with: apt-get install -y python3/ },
    { name: 'a CHROMIUM_PATH that is not there', facts: { chromiumPath: '/opt/chrome', chromiumRuns: false }, line: 'npm test cannot run here: missing a Chromium at CHROMIUM_PATH=/opt/chrome' },
    { name: 'Node 20.11', facts: { nodeVersion: '20.11.1' }, line: 'npm test cannot run here: missing Node 20.11.1 (vite needs ^20.19.0 || >=22.12.0: install a newer Node)' },
  ])('$name', ({ facts, line }) => {
    const got = missingForTests({ ...ready, ...facts });
    if (line instanceof RegExp) expect(got).toMatch(line);
    else expect(got).toBe(line);
    if (got) expect(got).not.toContain('\n');
  });

  it('the e2e scope does not ask for the Vulkan loader', () => {
    expect(missingForTests({ ...ready, libvulkan: false }, 'e2e')).toBeNull();
    expect(missingForTests({ ...ready, python3: false }, 'e2e')).toBeNull();
  });

  it.each([
    ['20.19.0', true],
    ['20.18.3', false],
    ['21.7.0', false],
    ['22.11.0', false],
    ['22.12.0', true],
    ['24.1.0', true],
    ['18.20.0', false],
  ])('Node %s is enough: %s', (version, ok) => {
    expect(nodeVersionOk(version)).toBe(ok);
  });
});
