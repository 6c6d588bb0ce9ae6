#!/usr/bin/env python3
"""Loads the studio's PEFT exports with real PEFT on the same HF checkpoint and compares logits.

Usage (from the repository root, where base_model_name_or_path such as public/models/studio-bert-tiny
resolves):  python verify_peft_parity.py CASES_DIR
CASES_DIR holds one folder per case, written by `npx tsx src/cli/peft-parity.ts --out CASES_DIR`:
peft/ (adapter_config.json, adapter_model.safetensors) and expected.json, the studio's logits at the
mask (encoders) or the last token (decoders) for a few inputs laid out as PEFT feeds them.

Needs torch, transformers and peft. Each case prints its largest difference; a case whose logits
differ by more than 1e-4 (relative to the logits' scale) fails, and the script exits with status 1.
"""
import json
import os
import sys

TOLERANCE = 1e-4


def main(root):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    torch.set_grad_enabled(False)
    failures = []
    for case in sorted(os.listdir(root)):
        folder = os.path.join(root, case)
        if not os.path.isfile(os.path.join(folder, "expected.json")):
            continue
        with open(os.path.join(folder, "expected.json")) as f:
            expected = json.load(f)
        with open(os.path.join(folder, "peft", "adapter_config.json")) as f:
            config = json.load(f)
        auto = AutoModelForCausalLM if expected["modelType"] == "gpt2" else AutoModelForMaskedLM
        try:
            base = auto.from_pretrained(config["base_model_name_or_path"], dtype=torch.float32).eval()
            model = PeftModel.from_pretrained(base, os.path.join(folder, "peft")).eval()
        except Exception as e:  # a load failure is a finding, reported per case
            print(f"FAIL  {case}: PEFT could not load it: {type(e).__name__}: {e}")
            failures.append(case)
            continue
        worst = 0.0
        for item in expected["inputs"]:
            ids = torch.tensor([item["ids"]])
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
            # Prompt tuning / P-tuning: PEFT returns the virtual tokens' positions too, in front.
            offset = out.shape[0] - ids.shape[1]
            got = out[offset + item["position"]]
            want = torch.tensor(item["logits"])
            scale = max(1.0, float(want.abs().max()))
            worst = max(worst, float((got - want).abs().max()) / scale)
        ok = worst <= TOLERANCE
        print(f"{'ok  ' if ok else 'FAIL'}  {case}: {config['peft_type']} on {config['base_model_name_or_path']}, "
              f"{type(model).__name__}, largest difference {worst:.2e} (relative to the logits' scale)")
        if not ok:
            failures.append(case)
    print(f"{len(failures)} failed case(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
