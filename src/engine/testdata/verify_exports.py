#!/usr/bin/env python3
"""Checks Prompt Tuning Studio exports (src/engine/export/) with the reference Python libraries.

Usage:  python verify_exports.py EXPORT [EXPORT ...]
        EXPORT is a bundle .zip or an unzipped bundle folder (prompt.json, prompt.npy, ...).

Needs numpy. With safetensors, torch, transformers and peft installed it also checks the
safetensors files and loads the PEFT adapter onto a small randomly initialised base model of the
recorded family and size (no download), checking that PeftModel prepends exactly our vectors.
A missing library skips its checks with a note; any failed check exits with status 1.
"""
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

FAILURES = []


def check(ok, message):
    print(("  ok    " if ok else "  FAIL  ") + message)
    if not ok:
        FAILURES.append(message)


def same_bits(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def bundle_folder(path):
    if os.path.isdir(path):
        return path
    folder = tempfile.mkdtemp(prefix="prompt-export-")
    with zipfile.ZipFile(path) as z:
        z.extractall(folder)
    return folder


def check_numpy(folder, meta, vectors):
    n, h = meta["numTokens"], meta["dim"]
    path = os.path.join(folder, "prompt.npy")
    arr = np.load(path)
    check(arr.dtype == np.float32 and arr.shape == (n, h), f"prompt.npy loads as float32 {arr.shape}, expected {(n, h)}")
    check(same_bits(arr, vectors), "prompt.npy values equal prompt.json vectors bit for bit")
    buf = io.BytesIO()
    np.save(buf, vectors)
    with open(path, "rb") as f:
        raw = f.read()
    check(raw == buf.getvalue(), "prompt.npy bytes equal what this numpy's np.save writes")


def check_safetensors(folder, vectors):
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        print("  skip  safetensors not installed")
        return
    for name, expected_meta in (("prompt.safetensors", None), ("peft/adapter_model.safetensors", {"format": "pt"})):
        path = os.path.join(folder, name)
        tensors = load_file(path)
        check(list(tensors) == ["prompt_embeddings"], f"{name} holds only prompt_embeddings ({list(tensors)})")
        x = tensors["prompt_embeddings"]
        check(x.dtype == np.float32 and same_bits(x, vectors), f"{name}: prompt_embeddings F32 {x.shape} equals the vectors")
        with safe_open(path, framework="np") as f:
            md = f.metadata()
        if expected_meta is not None:
            check(md == expected_meta, f"{name} metadata is {expected_meta} ({md})")
        else:
            check(md.get("format") == "pt" and "model_id" in md, f"{name} metadata has format pt and model_id")


def tiny_base_model(meta):
    import transformers as tr

    m = meta["model"]
    h, layers, heads, vocab = m["hiddenSize"], m["numLayers"], m["numHeads"], m["vocabSize"]
    kind = m["modelType"]
    if kind == "gpt2":
        return tr.GPT2LMHeadModel(tr.GPT2Config(vocab_size=vocab, n_embd=h, n_layer=layers, n_head=heads))
    if kind == "bert":
        cfg = tr.BertConfig(vocab_size=vocab, hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * h)
        return tr.BertForMaskedLM(cfg)
    if kind == "roberta":
        cfg = tr.RobertaConfig(vocab_size=vocab, hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * h)
        return tr.RobertaForMaskedLM(cfg)
    if kind == "distilbert":
        cfg = tr.DistilBertConfig(vocab_size=vocab, dim=h, n_layers=layers, n_heads=heads, hidden_dim=4 * h)
        return tr.DistilBertForMaskedLM(cfg)
    raise ValueError(f"unknown modelType {kind}")


def check_peft(folder, meta, vectors):
    try:
        import torch
        from peft import PeftConfig, PeftModel, PromptTuningConfig
    except ImportError as e:
        print(f"  skip  PEFT checks ({e})")
        return
    peft_dir = os.path.join(folder, "peft")
    n, h = meta["numTokens"], meta["dim"]
    cfg = PeftConfig.from_pretrained(peft_dir)
    check(isinstance(cfg, PromptTuningConfig), f"adapter_config.json loads as PromptTuningConfig ({type(cfg).__name__})")
    check((cfg.num_virtual_tokens, cfg.token_dim) == (n, h), f"num_virtual_tokens, token_dim = {n}, {h}")
    with open(os.path.join(peft_dir, "adapter_config.json")) as f:
        ours = json.load(f)
    theirs = PromptTuningConfig(task_type=ours["task_type"], num_virtual_tokens=n).to_dict()
    missing = sorted(set(theirs) - set(ours))
    print(f"  info  keys this PEFT writes that the export omits (defaults apply): {missing}")

    torch.manual_seed(0)
    base = tiny_base_model(meta).eval()
    model = PeftModel.from_pretrained(base, peft_dir).eval()
    expected_cls = "PeftModelForCausalLM" if meta["model"]["modelType"] == "gpt2" else "PeftModelForFeatureExtraction"
    check(type(model).__name__ == expected_cls, f"PeftModel.from_pretrained builds {expected_cls} ({type(model).__name__})")
    weight = model.prompt_encoder["default"].embedding.weight.detach().cpu().numpy()
    check(same_bits(weight.astype(np.float32), vectors), "the loaded prompt embedding equals the exported vectors")

    ids = torch.randint(5, meta["model"]["vocabSize"], (2, 7))
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        prompt = torch.from_numpy(vectors).unsqueeze(0).expand(2, -1, -1)
        embeds = torch.cat([prompt, base.get_input_embeddings()(ids)], dim=1)
        ref = base(inputs_embeds=embeds, attention_mask=torch.ones(2, n + 7, dtype=torch.long)).logits
    check(out.shape[1] == n + 7, f"logits cover the {n} virtual tokens + 7 input tokens ({tuple(out.shape)})")
    check(torch.allclose(out, ref, atol=1e-5), "PEFT's forward equals the base model run on [prompt; input embeddings]")


def main(paths):
    for path in paths:
        print(path)
        folder = bundle_folder(path)
        with open(os.path.join(folder, "prompt.json")) as f:
            meta = json.load(f)
        vectors = np.array(meta["vectors"], dtype=np.float32)
        check(vectors.shape == (meta["numTokens"], meta["dim"]), f"prompt.json vectors are {vectors.shape}")
        check_numpy(folder, meta, vectors)
        check_safetensors(folder, vectors)
        check_peft(folder, meta, vectors)
    print(f"{len(FAILURES)} failed check(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
