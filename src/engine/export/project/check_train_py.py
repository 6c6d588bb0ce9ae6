#!/usr/bin/env python3
"""Checks train.py's pure-Python parts against the studio, without torch (run by golden.test.ts), and its prompt encoders with torch where it is installed.

    python3 check_train_py.py golden GOLDEN.json     template rendering, label-word plans, seeds, schedule, inits
    python3 check_train_py.py encoder-forward GOLDEN.json   train.py's torch prompt encoders = the studio's (needs torch)
    python3 check_train_py.py csv FILE.csv           prints the rows train.py reads, as JSON
    python3 check_train_py.py prompt-json IN.json    prints prompt.json as train.py writes it ({vectors, metadata, head})

``golden`` prints one line per failed check and exits 1 when there is any.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_train_py():
    spec = importlib.util.spec_from_file_location("train", os.path.join(HERE, "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if "torch" in sys.modules:
        raise SystemExit("importing train.py imported torch: its top level must stay pure Python")
    return module


class TableTokenizer:
    """Tokenises through the golden file's tables: the ids the studio's tokenizer gave each text."""

    def __init__(self, tables):
        self.tables = tables

    def _look_up(self, which, text):
        if text not in self.tables[which]:
            raise KeyError(f"train.py asks {which}({text!r}), which the studio never asked")
        return list(self.tables[which][text])

    def encode(self, text):
        return self._look_up("encode", text)

    def encode_start(self, text):
        return self._look_up("encodeStart", text)


def check_encoder_forward(path):
    """train.py's torch prompt encoders (MLP; LSTM + MLP) on the golden file's embeddings against the studio's outputs. Needs torch."""
    t = load_train_py()  # first: it checks that its import alone does not import torch
    import torch

    with open(path, encoding="utf-8") as f:
        golden = json.load(f)
    failures = []
    cases = golden["inited"]
    mf = cases["mlpForward"]
    le = cases["lstmEncoder"]
    runs = [
        ("MLP encoder", None, t.encoder_init(mf["sizes"], mf["seed"]), mf),
        ("LSTM encoder", *t.lstm_encoder_init(le["hidden"], le["encoderHidden"], le["seed"]), le),
    ]
    for name, lstm, mlp, case in runs:
        x = torch.tensor(case["embeddings"], dtype=torch.float32, requires_grad=True)
        lstm_module = t.torch_lstm(lstm) if lstm else None
        out = t.run_encoder(x, lstm_module, t.torch_linears(mlp), "relu")
        got = out.detach().flatten().tolist()
        if not all_close(got, case["output"], 1e-5):
            failures.append(f"{name}: train.py computes {got}, the studio {case['output']}")
        out.sum().backward()  # the gradient reaches the embeddings and the trained weights, not the frozen bias_hh
        if x.grad is None or not torch.isfinite(x.grad).all():
            failures.append(f"{name}: no finite gradient for the embeddings")
        if lstm_module is not None:
            frozen = [n for n, p in lstm_module.named_parameters() if not p.requires_grad]
            if sorted(frozen) != sorted(f"bias_hh_l{l}{s}" for l in range(len(lstm)) for s in ("", "_reverse")):
                failures.append(f"{name}: frozen parameters {frozen}, expected every bias_hh")
    for line in failures:
        print(line)
    print(f"{len(failures)} failure(s) in {len(runs)} encoder forward cases (torch {torch.__version__})")
    return 1 if failures else 0


def close(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(b))


def all_close(got, want, tol=1e-6):
    """Same length and every value close (train.py's draws in float64 against the studio's float32)."""
    return len(got) == len(want) and all(close(x, y, tol) for x, y in zip(got, want))


def flat(matrix):
    return [x for row in matrix for x in row]


def check_golden(path):
    t = load_train_py()
    with open(path, encoding="utf-8") as f:
        golden = json.load(f)
    failures = []

    def expect(what, got, want):
        if got != want:
            failures.append(f"{what}: train.py gives {json.dumps(got, ensure_ascii=False)}, the studio {json.dumps(want, ensure_ascii=False)}")

    for i, case in enumerate(golden["templates"]):
        what = f"template {i} ({case['model']}: {case['template']!r})"
        tok = TableTokenizer(golden["pieces"][case["model"]])
        model = golden["models"][case["model"]]
        try:
            template = t.Template(case["template"], tok, model, case["columns"], case["promptLength"], case.get("maxLength"),
                                  case.get("prefixLength", 0), case.get("maskRequired", True) is not False)
        except Exception as e:  # reported, not raised: every case is checked
            failures.append(f"{what}: {type(e).__name__}: {e}")
            continue
        c = case["compiled"]
        expect(f"{what} placement", template.placement, c["placement"])
        expect(f"{what} soft count", template.soft_count, c["softCount"])
        expect(f"{what} fixed length", template.fixed_length, c["fixedLength"])
        expect(f"{what} max length", template.max_length, c["maxLength"])
        expect(f"{what} space before prediction", template.space_before_prediction, c["spaceBeforePrediction"])
        expect(f"{what} has mask", template.has_mask, c["hasMask"])
        expect(f"{what} columns", template.columns, c["columns"])
        for j, (r, want) in enumerate(zip(case["rows"], case["encoded"])):
            got = template.encode(r["row"], with_soft=r.get("withSoft", True) is not False, reserve=r.get("reserve", 0))
            expect(f"{what} row {j}", got, want)

    for i, case in enumerate(golden["verbalizers"]):
        what = f"verbalizer {i} ({case['model']})"
        tok = TableTokenizer(golden["pieces"][case["model"]])
        model = golden["models"][case["model"]]
        template = t.Template(case["template"], tok, model, list(case["row"].keys()), 3)
        expect(f"{what} space before", template.space_before_prediction, case["spaceBefore"])
        classes = list(case["labelWords"].keys())
        v = t.Verbalizer(classes, case["labelWords"], tok, template.space_before_prediction, model["lmKind"])
        expect(f"{what} token ids", v.words, case["tokenIds"])
        expect(f"{what} label word ids", v.label_word_ids, case["labelWordIds"])
        expect(f"{what} extra positions", v.extra_positions, case["extraPositions"])
        expect(f"{what} sequences", v.sequences, case["sequences"])
        example = template.encode(case["row"], reserve=v.extra_positions)
        expect(f"{what} example", example, case["example"])
        inputs, reads = v.scoring_inputs(example)
        expect(f"{what} scoring inputs", inputs, case["scoring"]["inputs"])
        expect(f"{what} scoring reads", reads, case["scoring"]["reads"])
        K = case["readsPerSequence"]
        scores = []
        for per_class in v.piece_reads:
            words = [sum(fake_log_prob(s * K + r, tk) for s, r, tk in pieces) for pieces in per_class]
            scores.append(sum(words) / len(words))
        if not all(close(a, b, 1e-5) for a, b in zip(scores, case["classScores"])) or len(scores) != len(case["classScores"]):
            failures.append(f"{what} class scores: train.py {scores}, the studio {case['classScores']}")

    for case in golden["random"]:
        what = f"random seed {case['seed']} stream {case['stream']!r}"
        expect(f"{what} state", t.seeded_random(case["seed"], case["stream"]).state(), case["state"])
        a = t.seeded_random(case["seed"], case["stream"])
        got = [a.uniform() for _ in range(4)]
        if not all(close(x, y, 1e-15) for x, y in zip(got, case["uniforms"])):
            failures.append(f"{what} uniforms: {got} vs {case['uniforms']}")
        b = t.seeded_random(case["seed"], case["stream"])
        got = [b.normal() for _ in range(2)]
        if not all(close(x, y, 1e-12) for x, y in zip(got, case["normals"])):
            failures.append(f"{what} normals: {got} vs {case['normals']}")
        expect(f"{what} shuffle", t.seeded_random(case["seed"], case["stream"]).shuffle(list(range(10))), case["shuffle"])

    for s in golden["schedules"]:
        got = [t.learning_rate_at(k, s["totalSteps"], s["peak"], s["warmupSteps"]) for k in range(s["totalSteps"])]
        if not all(close(x, y, 1e-15) for x, y in zip(got, s["rates"])):
            failures.append(f"schedule {s['totalSteps']}/{s['warmupSteps']}: {got} vs {s['rates']}")

    fr = golden["frequencies"]
    frequent = t.token_frequencies(fr["sequences"], set(fr["specials"]))
    expect("token frequencies", frequent, fr["frequent"])
    for c in golden["inits"]:
        got = t.init_token_ids(c["init"], c["length"], c["seed"], frequent, set(fr["specials"]), c["vocabSize"], c.get("labelWordIds"), c.get("textIds"))
        expect(f"init {c['init']} length {c['length']} seed {c['seed']}", got, c["ids"])
    enc = golden["inited"]["encoder"]
    def expect_linears(what, layers, want_layers):
        for k, (w, b) in enumerate(layers):
            want = want_layers[k]
            if not (all_close(flat(w), want["weight"]) and all_close(b, want["bias"])):
                failures.append(f"{what} layer {k}: {flat(w)} {b} vs {want}")

    expect_linears("encoder", t.encoder_init(enc["sizes"], enc["seed"]), enc["layers"])
    le = golden["inited"]["lstmEncoder"]
    lstm, mlp = t.lstm_encoder_init(le["hidden"], le["encoderHidden"], le["seed"])
    for l, pair in enumerate(lstm):
        for name, (w_in, w_rec, b) in zip(("forward", "backward"), pair):
            want = le["lstm"][l][name]
            for what, got_values, want_values in (("input weight", flat(w_in), want["inputWeight"]), ("recurrent weight", flat(w_rec), want["recurrentWeight"]), ("bias", b, want["bias"])):
                if not all_close(got_values, want_values):
                    failures.append(f"LSTM encoder layer {l} {name} {what}: {got_values} vs {want_values}")
    expect_linears("LSTM encoder's MLP", mlp, le["mlp"])
    hd = golden["inited"]["head"]
    w, b = t.head_init(hd["hidden"], hd["classes"], hd["seed"])
    if not (all_close(flat(w), hd["weight"]) and b == hd["bias"]):
        failures.append(f"head init: {flat(w)} {b} vs {hd['weight']} {hd['bias']}")

    # DDP's shares: the weighted mean of the processes' mean losses is the batch's mean loss.
    for n in range(1, 12):
        for world in range(1, 5):
            values = [((i * 7919) % 13) / 3.0 for i in range(n)]
            total = 0.0
            for rank in range(world):
                mine, weight = t.process_share(values, rank, world)
                total += weight * sum(mine) / len(mine)
            if not close(total / world, sum(values) / n, 1e-12):
                failures.append(f"process_share: {n} examples over {world} processes give {total / world}, not {sum(values) / n}")

    for case in golden["wordStartMarker"]:
        expect(f"without_word_start_marker({case['name']})", t.without_word_start_marker(case["input"]), case["output"])

    for f in failures:
        print(f)
    checked = len(golden["templates"]) + len(golden["verbalizers"]) + len(golden["random"]) + len(golden["schedules"]) + len(golden["inits"]) + 3 + 1 + len(golden["wordStartMarker"])
    print(f"{len(failures)} failure(s) in {checked} golden cases")
    return 1 if failures else 0


def fake_log_prob(row, token):
    """golden.ts's fakeLogProb."""
    return -((((row + 1) * 31 + token * 17) % 97) / 10)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    command, path = argv[1], argv[2]
    if command == "golden":
        return check_golden(path)
    if command == "encoder-forward":
        return check_encoder_forward(path)
    t = load_train_py()
    if command == "csv":
        sys.stdout.write(json.dumps(t.read_csv(path), ensure_ascii=False))
        return 0
    if command == "prompt-json":
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        head = (doc["head"]["weights"], doc["head"]["bias"]) if doc.get("head") else None
        sys.stdout.write(t.prompt_json_text(doc["vectors"], doc["metadata"], head))
        return 0
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
