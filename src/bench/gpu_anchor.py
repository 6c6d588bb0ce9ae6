"""The PyTorch half of the GPU benchmark kit (see src/cli/gpu-bench.ts and gpu-kit/run.sh).

For every row the Node half measured (WORK/webgpu.json), this loads the same HF-layout checkpoint
with transformers (BertForMaskedLM / GPT2LMHeadModel), splices the same initial soft prompt into
the same batch through `inputs_embeds`, checks that its loss (1e-3 relative) and its label-word
log-probabilities (1e-3 absolute) equal the engine's
and then times the same step: forward to the read position, label-word log-probabilities, cross
entropy over the classes, backward to the prompt only, global-norm clipping, Adam. Once in fp32
(TF32 off) and once under bf16 autocast. Writes WORK/gpu-bench.json and prints a table.

    python3 gpu_anchor.py --work DIR [--steps N] [--device cuda|cpu]
"""
import argparse
import json
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default=None)
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()

    with open(os.path.join(args.work, "webgpu.json")) as f:
        kit = json.load(f)
    try:
        import torch
        import transformers
        from safetensors.torch import load_file
    except ImportError as e:
        print(f"anchor skipped: {e} (the GPU machine has torch and transformers; this one does not)")
        write(args.work, kit, None, [])
        return 3

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch_info = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
    }
    print(f"anchor: torch {torch.__version__}, transformers {transformers.__version__} on {torch_info['device']}")

    rows = []
    for row in kit["rows"]:
        rows.append(measure(row, args, device, torch, transformers, load_file))
    write(args.work, kit, torch_info, rows)
    return 0 if rows and all(r["loss"]["match"] for r in rows) else 1


def measure(row, args, device, torch, transformers, load_file):
    folder = os.path.join(args.work, row["dir"])
    family = row["family"]
    cls = transformers.BertForMaskedLM if family == "bert" else transformers.GPT2LMHeadModel
    try:
        model = cls.from_pretrained(folder, dtype=torch.float32)
    except TypeError:  # transformers before 4.56 calls it torch_dtype
        model = cls.from_pretrained(folder, torch_dtype=torch.float32)
    model = model.to(device).eval()
    model.requires_grad_(False)
    body = model.bert if family == "bert" else model.transformer
    head = model.cls if family == "bert" else model.lm_head

    ids = torch.tensor(row["ids"], dtype=torch.long, device=device)  # [B, T]
    soft = torch.tensor(row["softIndex"], dtype=torch.long, device=device)  # [B, T], -1 = a token
    read = torch.tensor(row["readPosition"], dtype=torch.long, device=device)  # [B]
    labels = torch.tensor(row["labels"], dtype=torch.long, device=device)  # [B]
    words = torch.tensor(row["labelWordIds"], dtype=torch.long, device=device)  # [C]
    B, T = ids.shape
    is_soft = (soft >= 0).unsqueeze(-1)  # [B, T, 1]
    attention = torch.ones(B, T, dtype=torch.long, device=device)  # the synthetic batch has no padding
    extra = {"token_type_ids": torch.zeros_like(ids)} if family == "bert" else {}
    with torch.no_grad():
        token_embeds = body.get_input_embeddings()(ids)  # [B, T, H], frozen

    initial = load_file(os.path.join(folder, "prompt.safetensors"))["prompt"].to(device)

    def scores_of(prompt):
        embeds = torch.where(is_soft, prompt[soft.clamp(min=0)], token_embeds)  # soft rows spliced in
        hidden = body(inputs_embeds=embeds, attention_mask=attention, **extra).last_hidden_state  # [B, T, H]
        h = hidden[torch.arange(B, device=device), read]  # [B, H]
        logits = head(h).float()  # [B, V], only at the read position, as the engine does
        return torch.log_softmax(logits, dim=-1)[:, words]  # [B, C] label-word log-probabilities

    def loss_of(prompt):
        return torch.nn.functional.cross_entropy(scores_of(prompt), labels)

    with torch.no_grad():
        torch_scores = scores_of(initial)
        torch_loss = torch.nn.functional.cross_entropy(torch_scores, labels).item()
    engine_scores = torch.tensor(row["initialScores"], dtype=torch.float32, device=device)
    score_diff = (torch_scores - engine_scores).abs().max().item()
    rel = abs(torch_loss - row["initialLoss"]) / max(abs(row["initialLoss"]), 1e-12)
    match = rel <= args.tolerance and score_diff <= args.tolerance
    result = {
        "name": row["name"],
        "shape": row["shape"],
        "webgpu": row["webgpu"],
        "loss": {"webgpu": row["initialLoss"], "torch": torch_loss, "relDiff": rel, "maxScoreDiff": score_diff, "match": match},
    }
    if not match:
        print(
            f"{row['name']}: MISMATCH loss webgpu {row['initialLoss']:.6f} torch {torch_loss:.6f} (rel {rel:.2e}), "
            f"label-word log-probs differ by up to {score_diff:.2e}: not timed"
        )
        return result

    def timed(autocast):
        prompt = initial.clone().requires_grad_(True)
        opt = torch.optim.Adam([prompt], lr=row["learningRate"], eps=1e-7)  # tfjs Adam's epsilon

        def step():
            opt.zero_grad(set_to_none=True)
            if autocast:
                with torch.autocast(device_type=device, dtype=torch.bfloat16):
                    loss = loss_of(prompt)
            else:
                loss = loss_of(prompt)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([prompt], row["maxGradNorm"])
            opt.step()
            return loss

        for _ in range(3):
            step()
        sync(torch, device)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            last = step()
        last.item()
        sync(torch, device)
        ms = (time.perf_counter() - t0) * 1000 / args.steps
        tokens = B * T
        return {
            "msPerStep": ms,
            "tokensPerSecond": tokens * 1000 / ms,
            "achievedGflops": row["webgpu"]["gflopPerStep"] / (ms / 1000),
            "stepsTimed": args.steps,
        }

    result["torchFp32"] = timed(False)
    result["torchBf16"] = timed(True)
    # Throughput of WebGPU relative to PyTorch: 1.0 = as fast, 0.5 = half as fast.
    result["ratioFp32"] = result["torchFp32"]["msPerStep"] / row["webgpu"]["msPerStep"]
    result["ratioBf16"] = result["torchBf16"]["msPerStep"] / row["webgpu"]["msPerStep"]
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return result


def sync(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def write(work, kit, torch_info, rows):
    out = {
        "date": kit["date"],
        "adapter": kit["adapter"],
        "node": kit["machine"],
        "anchor": torch_info,
        "rows": rows or [{"name": r["name"], "shape": r["shape"], "webgpu": r["webgpu"], "loss": {"webgpu": r["initialLoss"]}} for r in kit["rows"]],
    }
    with open(os.path.join(work, "gpu-bench.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(table(out))


def table(out):
    a = out["adapter"] or {}
    lines = [
        f"WebGPU adapter: {a.get('vendor')} / {a.get('architecture')} ({a.get('description') or a.get('device')}); anchor: {out['anchor']}",
        "| row | B, T, N | WebGPU ms/step | GFLOP/s | dispatches/step | PyTorch fp32 ms/step | PyTorch bf16 ms/step | WebGPU / fp32 | WebGPU / bf16 | loss rel. diff |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in out["rows"]:
        s, w = r["shape"], r["webgpu"]
        f32, b16 = r.get("torchFp32"), r.get("torchBf16")
        gpu = w["work"].get("gpu") or {}
        rel = r["loss"].get("relDiff")
        lines.append(
            f"| {r['name']} | {s['batchSize']}, {s['sequenceLength']}, {s['promptLength']} | {w['msPerStep']:.1f} | {w['achievedGflops']:.0f} | "
            f"{gpu.get('dispatches', '?')} | {f32['msPerStep']:.1f} | {b16['msPerStep']:.1f} | {r['ratioFp32']:.2f}x | {r['ratioBf16']:.2f}x | {rel:.1e} |"
            if f32
            else f"| {r['name']} | {s['batchSize']}, {s['sequenceLength']}, {s['promptLength']} | {w['msPerStep']:.1f} | {w['achievedGflops']:.0f} | "
            f"{gpu.get('dispatches', '?')} | - | - | - | - | {'%.1e' % rel if rel is not None else '-'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
