#!/usr/bin/env python3
"""Runs the studio's "Train at scale" projects for real and compares them with the studio.

Usage (on the GPU machine, from the repository root, where public/models/ holds the embedded models):
    python3 project_parity.py PROJECTS_DIR OUT_DIR [--epochs E] [--skip-training]

PROJECTS_DIR holds one project per embedded model, written by `npx tsx src/cli/project-parity.ts`,
each with studio_predictions.json (the studio's zero-shot probabilities per validation row) and
studio_run.json (the studio's own run on the same settings). For each project:

1. zero-shot, one process: train.py --zero-shot-only; every validation row's predicted class must be
   the studio's, and its class probabilities within 1e-4;
2. the same under `accelerate launch --num_processes 2` (two GPUs when there are two, else two CPU
   processes), which shards the validation split;
3. training, one process and two processes: the best validation accuracy against the studio's on the
   same settings, "within noise" when the difference is under 1.96 standard errors of a difference of
   two accuracies on n rows;
4. the output loads back: prompt.json parses with the studio's shape, and PEFT loads output/peft.

Writes OUT_DIR/project-parity.json and prints one line per check; exits 1 when a zero-shot check
fails or a run fails (a trained accuracy outside the noise is reported, not failed: it is a finding).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import time

TOLERANCE = 1e-4


def run(cmd, cwd, log):
    started = time.time()
    with open(log, "w") as f:
        try:
            r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
        except OSError as e:  # the launcher itself is missing (no accelerate on PATH)
            f.write(f"{cmd[0]}: {e}\n")
            return 127, time.time() - started
    return r.returncode, time.time() - started


def tail(path, n=15):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def compare_zero_shot(metrics_path, studio):
    with open(metrics_path) as f:
        got = json.load(f)["predictions"]["zeroShot"]
    want = studio["zeroShot"]
    if got is None or want is None or len(got) != len(want):
        return {"ok": False, "why": f"rows: {None if got is None else len(got)} against the studio's {None if want is None else len(want)}"}
    differ = [g["index"] for g, w in zip(got, want) if g["predicted"] != w["predicted"]]
    worst = max(max(abs(a - b) for a, b in zip(g["probabilities"], w["probabilities"])) for g, w in zip(got, want))
    return {"ok": not differ and worst <= TOLERANCE, "rows": len(want), "differentPredictions": differ, "largestProbabilityDifference": worst}


def within_noise(a, b, n):
    p = (a + b) / 2
    se = math.sqrt(max(2 * p * (1 - p) / max(1, n), 1e-12))
    return abs(a - b) <= 1.96 * se, se


TORCHRUN_CPU = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def run_two(launch2, cmd_tail, cwd, log):
    """Two processes through accelerate launch; on CPU, when accelerate cannot start them, torchrun with
    ACCELERATE_USE_CPU (the same Accelerator code path). Returns (rc, seconds, how)."""
    rc, secs = run(launch2 + cmd_tail, cwd, log)
    if rc == 0 or "--cpu" not in launch2:
        return rc, secs, "accelerate launch"
    os.environ["ACCELERATE_USE_CPU"] = "true"
    try:
        rc, secs = run(TORCHRUN_CPU + cmd_tail, cwd, log + ".torchrun")
    finally:
        del os.environ["ACCELERATE_USE_CPU"]
    return rc, secs, "torchrun (accelerate launch failed, see its log)"


def two_process_launch():
    gpus = 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
        gpus = len([l for l in out.splitlines() if l.startswith("GPU")])
    except OSError:
        pass
    if gpus >= 2:
        return ["accelerate", "launch", "--multi_gpu", "--num_processes", "2"], "2 GPUs"
    return ["accelerate", "launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"], "2 CPU processes"


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    projects, out_dir = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    skip_training = "--skip-training" in argv
    extra = []
    if "--epochs" in argv:
        extra = ["--epochs", argv[argv.index("--epochs") + 1]]
    os.makedirs(out_dir, exist_ok=True)
    repo = os.getcwd()
    launch2, how2 = two_process_launch()
    results, failures = [], []
    for name in sorted(os.listdir(projects)):
        project = os.path.join(projects, name)
        if not os.path.isfile(os.path.join(project, "studio_config.json")):
            continue
        with open(os.path.join(project, "studio_predictions.json")) as f:
            studio = json.load(f)
        with open(os.path.join(project, "studio_run.json")) as f:
            studio_run = json.load(f)
        model = os.path.join(repo, studio["model"])  # the studio's model folder, absolute
        case = {"project": name, "model": studio["model"], "twoProcesses": how2}
        logs = os.path.join(out_dir, name)
        os.makedirs(logs, exist_ok=True)

        for label, two in (("zeroShot1", False), ("zeroShot2", True)):
            out = os.path.join(logs, label)
            shutil.rmtree(out, ignore_errors=True)
            tail_args = ["train.py", "--model", model, "--zero-shot-only", "--output", out]
            log = os.path.join(logs, f"{label}.log")
            rc, secs, how = run_two(launch2, tail_args, project, log) if two else (*run([sys.executable] + tail_args, project, log), "python")
            case[f"{label}Launch"] = how
            if rc != 0:
                case[label] = {"ok": False, "why": f"exit {rc}", "log": tail(os.path.join(logs, f"{label}.log"))}
            else:
                case[label] = dict(compare_zero_shot(os.path.join(out, "metrics.json"), studio), seconds=secs)
            print(f"{'ok  ' if case[label]['ok'] else 'FAIL'}  {name} {label}: {json.dumps({k: v for k, v in case[label].items() if k != 'log'})}")
            if not case[label]["ok"]:
                failures.append(f"{name} {label}")

        if not skip_training:
            for label, two in (("train1", False), ("train2", True)):
                out = os.path.join(logs, label)
                shutil.rmtree(out, ignore_errors=True)
                tail_args = ["train.py", "--model", model, "--output", out] + extra
                log = os.path.join(logs, f"{label}.log")
                rc, secs, how = run_two(launch2, tail_args, project, log) if two else (*run([sys.executable] + tail_args, project, log), "python")
                case[f"{label}Launch"] = how
                if rc != 0:
                    case[label] = {"ok": False, "why": f"exit {rc}", "log": tail(os.path.join(logs, f"{label}.log"))}
                    failures.append(f"{name} {label}")
                else:
                    with open(os.path.join(out, "metrics.json")) as f:
                        metrics = json.load(f)
                    acc = metrics["validation"]["accuracy"] if metrics["validation"] else None
                    ok, se = within_noise(acc, studio_run["accuracy"], studio_run["valSize"]) if acc is not None and studio_run["accuracy"] is not None else (False, None)
                    case[label] = {"ok": True, "accuracy": acc, "studioAccuracy": studio_run["accuracy"], "withinNoise": ok, "standardError": se,
                                   "bestEpoch": metrics["bestEpoch"], "studioBestEpoch": studio_run["bestEpoch"], "stopReason": metrics["stopReason"],
                                   "seconds": secs, "studioSeconds": studio_run.get("seconds")}
                    case[label]["loads"] = check_output(out, model)
                    if not case[label]["loads"]["ok"]:
                        failures.append(f"{name} {label} output")
                print(f"{'ok  ' if case[label]['ok'] else 'FAIL'}  {name} {label}: {json.dumps({k: v for k, v in case[label].items() if k != 'log'})}")
        results.append(case)
    with open(os.path.join(out_dir, "project-parity.json"), "w") as f:
        json.dump({"results": results, "failures": failures}, f, indent=2)
    print(f"{len(failures)} failed check(s)")
    return 1 if failures else 0


def check_output(out, model):
    """prompt.json has the studio's shape and PEFT loads the adapter on the base model."""
    try:
        with open(os.path.join(out, "prompt.json")) as f:
            prompt = json.load(f)
        assert prompt["format"] == "prompt-tuning-studio/prompt" and len(prompt["vectors"]) == prompt["numTokens"], "prompt.json's shape"
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

        auto = AutoModelForCausalLM if prompt["model"]["modelType"] == "gpt2" else AutoModelForMaskedLM
        base = auto.from_pretrained(model, dtype=torch.float32)
        PeftModel.from_pretrained(base, os.path.join(out, "peft"))
        return {"ok": True}
    except Exception as e:  # reported per case
        return {"ok": False, "why": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
