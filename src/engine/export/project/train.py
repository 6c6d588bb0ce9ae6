#!/usr/bin/env python3
"""Prompt Tuning Studio, "Train at scale": the studio's run as a transformers + PEFT + Accelerate script.

    pip install -r requirements.txt
    accelerate launch --config_file accelerate/ddp.yaml train.py

It reads studio_config.json (template, label words, classes, settings, model id, method),
data/train.csv and data/validation.csv (the studio's own split) and, when present, initial_prompt/
prompt.json (the studio's prompt to start from), and trains what the studio trains, the same way:

- the template rendered and truncated as the studio renders it (``Template`` below is a line-by-line
  port of src/engine/template.ts), soft tokens where the template puts them;
- classes scored by their label words, every piece of a multi-token word counted (``Verbalizer``,
  src/engine/verbalizer.ts), or by a linear head on [CLS] / the last token;
- cross-entropy over the class scores, Adam (the studio's lr, betas, epsilon), linear warmup then
  linear decay, global-norm clipping, a step with a non-finite loss or gradient skipped, the studio's
  seeded shuffling (mulberry32, src/engine/random.ts), validation after every epoch, early stopping
  on the validation loss, the best epoch kept; an ensemble's members trained on the same batches.

It writes to --output (default output/): peft/ (the PEFT adapter, PEFT's save_pretrained),
prompt.json (the studio's own format, which the studio imports) and metrics.json (see
``METRICS_FORMAT``). Import that folder's files, or a zip of it, in the studio's Export panel.

Everything above ``main`` is pure Python (no torch), so the rendering can be checked without torch.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
import time

METRICS_FORMAT = "prompt-tuning-studio/project-metrics"
METRICS_FORMAT_VERSION = 1
PROMPT_FORMAT = "prompt-tuning-studio/prompt"
PROMPT_FORMAT_VERSION = 1

# JavaScript's String.prototype.trim() set (WhiteSpace and LineTerminator), which differs from
# Python's str.strip() (that also strips \x1c-\x1f and keeps \ufeff).
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text):
    return text.strip(JS_WHITESPACE)


# ---------------------------------------------------------------------------------------------
# Seeded randomness: src/engine/random.ts (mulberry32, FNV-1a streams), bit for bit.

MASK32 = 0xFFFFFFFF


def _imul(a, b):
    """Math.imul: the low 32 bits of the product, as an unsigned number."""
    return (a * b) & MASK32


def hash32(text):
    """32-bit FNV-1a over UTF-16 code units, as the studio hashes stream names."""
    h = 0x811C9DC5
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = _imul(h, 0x01000193)
    return h


class Random:
    """mulberry32 with the studio's uniform, normal (Box-Muller), int and Fisher-Yates shuffle."""

    def __init__(self, state):
        self.a = state & MASK32

    def uniform(self):
        self.a = (self.a + 0x6D2B79F5) & MASK32
        t = self.a
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296.0

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def int(self, n):
        return int(math.floor(self.uniform() * n))

    def shuffle(self, items):
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = int(math.floor(self.uniform() * (i + 1)))
            out[i], out[j] = out[j], out[i]
        return out

    def state(self):
        return self.a


def seeded_random(seed, stream=""):
    # JS: (Math.floor(seed) ^ hash32(stream)) >>> 0, where ^ works on the seed's low 32 bits (signed).
    return Random((int(math.floor(seed)) & MASK32) ^ hash32(stream))


# ---------------------------------------------------------------------------------------------
# Templates: src/engine/template.ts.

TOKEN_RE = re.compile(r"\{([^{}]*)\}|\[SOFT(\*[^\]]*)?\]|\[MASK\]|<mask>|\[SEP\]")
MAX_SOFT_SLOT = 1000


class TemplateError(ValueError):
    pass


def parse_template(source):
    """The template's pieces: ("text", str) | ("column", name) | ("mask",) | ("sep",) | ("soft", count)."""
    pieces = []

    def text(t):
        if not t:
            return
        if pieces and pieces[-1][0] == "text":
            pieces[-1] = ("text", pieces[-1][1] + t)
        else:
            pieces.append(("text", t))

    at = 0
    masks = 0
    for m in TOKEN_RE.finditer(source):
        text(source[at:m.start()])
        at = m.end()
        whole = m.group(0)
        if whole.startswith("{"):
            column = js_trim(m.group(1))
            if not column:
                raise TemplateError(f'template "{source}": empty placeholder {{}}')
            pieces.append(("column", column))
        elif whole.startswith("[SOFT"):
            count = 1
            if m.group(2) is not None:
                n = m.group(2)[1:]
                count = int(n) if re.fullmatch(r"[0-9]+", n) else -1
                if not 1 <= count <= MAX_SOFT_SLOT:
                    raise TemplateError(f'template "{source}": {whole} is not a soft slot')
            pieces.append(("soft", count))
        elif whole == "[SEP]":
            pieces.append(("sep",))
        else:
            masks += 1
            if masks > 1:
                raise TemplateError(f'template "{source}" has two [MASK]s')
            pieces.append(("mask",))
    text(source[at:])
    return pieces


class Template:
    """A template compiled against a tokenizer, as the studio compiles it.

    ``tokenizer`` has ``encode_start(text)`` (text at the start of an input) and ``encode(text)`` (text
    continuing a running text, no SentencePiece word-start marker added), both -> ids without special
    tokens; ``model`` is studio_config.json's "model" (lmKind, maxPositions, positionOffset,
    typeVocabSize, addBos, special ids).
    """

    def __init__(self, source, tokenizer, model, columns, prompt_length, max_length=None, prefix_length=0, mask_required=True):
        self.source = source
        self.tokenizer = tokenizer
        self.lm_kind = model["lmKind"]
        special = model["special"]
        self.special = special
        self.type_vocab_size = model["typeVocabSize"]
        pieces = parse_template(source)
        quote = f'template "{source}"'
        for p in pieces:
            if p[0] == "column" and p[1] not in columns:
                raise TemplateError(f"{quote}: unknown column {{{p[1]}}}; the data has columns: {', '.join(columns)}")
        kinds = [p[0] for p in pieces]
        mask_at = kinds.index("mask") if "mask" in kinds else -1
        if self.lm_kind == "masked-lm" and mask_at < 0 and mask_required:
            raise TemplateError(f"{quote} has no [MASK]")
        if prefix_length > 0 and "soft" in kinds:
            raise TemplateError(f"{quote}: prefix tuning puts its virtual tokens at every layer: remove the [SOFT] slots")
        default_slot = "soft" not in kinds and prompt_length > 0 and prefix_length == 0
        if default_slot:
            pieces.insert(0, ("soft", prompt_length))

        space_sensitive = tokenizer.encode(" a") != tokenizer.encode("a")
        segments = []  # ("tokens", ids) | ("column", name, space_before, at_start) | ("soft", first, count) | ("mask",) | ("sep",)
        if self.lm_kind == "masked-lm":
            segments.append(("tokens", [special["cls"]]))
        elif model.get("addBos", True) and special.get("bos") is not None:
            segments.append(("tokens", [special["bos"]]))
        pending_space = False
        at_start = True
        last_text = ""
        soft_row = 0
        space_before_prediction = False
        for p in pieces:
            if p[0] == "text":
                raw = re.sub(r"^[ \t]+", "", p[1]) if at_start else p[1]
                t = re.sub(r"[ \t]+$", "", raw)
                pending_space = len(t) < len(raw)
                if t:
                    segments.append(("tokens", list(tokenizer.encode_start(t) if at_start else tokenizer.encode(t))))
                    at_start = False
                    last_text = t
            elif p[0] == "column":
                segments.append(("column", p[1], space_sensitive and pending_space, at_start))
                pending_space = False
                at_start = False
                last_text = "x"
            elif p[0] == "soft":
                segments.append(("soft", soft_row, p[1]))
                soft_row += p[1]
                pending_space = False
            elif p[0] == "sep":
                segments.append(("sep",))
                pending_space = False
            else:  # mask
                space_before_prediction = space_sensitive and pending_space
                if self.lm_kind == "masked-lm":
                    segments.append(("mask",))
                pending_space = False
        if self.lm_kind == "masked-lm":
            if special.get("sep") is not None:
                segments.append(("tokens", [special["sep"]]))
        elif mask_at < 0:
            space_before_prediction = space_sensitive and not at_start and not last_text.endswith("\n")

        model_max = model["maxPositions"] - model["positionOffset"] - prefix_length
        self.max_length = min(max_length if max_length is not None else model_max, model_max)
        self.segments = segments
        self.space_before_prediction = space_before_prediction
        self.has_mask = mask_at >= 0
        self.soft_count = sum(s[2] for s in segments if s[0] == "soft")
        self.columns = []
        for s in segments:
            if s[0] == "column" and s[1] not in self.columns:
                self.columns.append(s[1])
        self.fixed_length = sum(_segment_length(s) for s in segments)
        if not default_slot:
            self.placement = "template"
        else:
            self.placement = "after-first-token" if segments[0][0] == "tokens" else "prefix"
        if self.fixed_length > self.max_length:
            raise TemplateError(f"{quote} alone takes {self.fixed_length} tokens, more than the {self.max_length} positions available")

    def encode(self, row, with_soft=True, reserve=0):
        """One row -> dict(ids, softIndex, tokenTypes, maskPosition, truncated), as Template.encode."""
        budget = self.max_length - reserve
        if self.fixed_length > budget:
            raise TemplateError(f'template "{self.source}" takes {self.fixed_length} tokens; with {reserve} reserved it exceeds the {self.max_length} positions')
        column_ids = {}
        for i, s in enumerate(self.segments):
            if s[0] != "column":
                continue
            value = js_trim(row.get(s[1]) or "")
            text = (" " if s[2] else "") + value
            column_ids[i] = [] if not value else list(self.tokenizer.encode_start(text) if s[3] else self.tokenizer.encode(text))
        excess = self.fixed_length + sum(len(v) for v in column_ids.values()) - budget
        truncated = excess > 0
        while excess > 0:
            # The longest column is cut down to the second longest (or by what is still too much);
            # ties go to the earliest column, as the studio's stable sort does.
            lists = sorted(column_ids.values(), key=len, reverse=True)
            longest = lists[0]
            second = len(lists[1]) if len(lists) > 1 else 0
            cut = min(excess, max(1, len(longest) - second))
            del longest[len(longest) - cut:]
            excess -= cut

        pad = self.special.get("pad")
        pad = 0 if pad is None else pad
        ids, soft_index, token_types = [], [], []
        segment = 0
        mask_position = -1

        def push(token, soft=-1):
            ids.append(token)
            soft_index.append(soft)
            token_types.append(min(segment, self.type_vocab_size - 1) if self.type_vocab_size > 1 else 0)

        for i, s in enumerate(self.segments):
            if s[0] == "tokens":
                for t in s[1]:
                    push(t)
            elif s[0] == "column":
                for t in column_ids[i]:
                    push(t)
            elif s[0] == "soft":
                if with_soft:
                    for k in range(s[2]):
                        push(pad, s[1] + k)
            elif s[0] == "mask":
                mask_position = len(ids)
                push(self.special["mask"])
            else:  # sep
                push(self.special["sep"])
                segment += 1
        if self.lm_kind == "causal-lm":
            mask_position = len(ids) - 1
        if not ids:
            raise TemplateError(f'template "{self.source}" gives no tokens for this row')
        return {"ids": ids, "softIndex": soft_index, "tokenTypes": token_types, "maskPosition": mask_position, "truncated": truncated}


def _segment_length(s):
    if s[0] == "tokens":
        return len(s[1])
    if s[0] == "soft":
        return s[2]
    if s[0] in ("mask", "sep"):
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# Label words: src/engine/verbalizer.ts. A class's score is the mean over its words of
# log P(word) = sum over the word's pieces of log P(piece | template, earlier pieces).

MASK_SLOT = -1


def _starts_with(ids, prefix):
    return len(prefix) <= len(ids) and list(ids[: len(prefix)]) == list(prefix)


def scoring_plan(words, lm_kind):
    """(sequences, piece_reads): sequences as dicts(tokens, reads); piece_reads[c][w] = [(sequence, read, token)]."""
    flat = [w for ws in words for w in ws]
    if lm_kind == "causal-lm":
        needs = {}
        for w in flat:
            key = ",".join(map(str, w[:-1]))
            needs.setdefault(key, list(w[:-1]))
        ordered = sorted(needs.values(), key=len, reverse=True)  # stable, as Array.prototype.sort
        kept = []
        for n in ordered:
            if not any(_starts_with(s, n) for s in kept):
                kept.append(n)
        kept.reverse()
        sequences = [{"tokens": t, "reads": list(range(len(t) + 1))} for t in kept]
        piece_reads = []
        for ws in words:
            per_class = []
            for w in ws:
                seq = next(i for i, s in enumerate(kept) if _starts_with(s, w[:-1]))
                per_class.append([(seq, j, t) for j, t in enumerate(w)])
            piece_reads.append(per_class)
        return sequences, piece_reads
    index = {}
    sequences = []

    def sequence_of(w, j):
        tokens = list(w[:j]) + [MASK_SLOT] * (len(w) - j)
        key = ",".join(map(str, tokens))
        if key not in index:
            index[key] = len(sequences)
            sequences.append({"tokens": tokens, "reads": [j]})
        return index[key]

    for w in sorted(flat, key=len):
        for j in range(len(w)):
            sequence_of(w, j)
    piece_reads = [[[(sequence_of(w, j), 0, t) for j, t in enumerate(w)] for w in ws] for ws in words]
    return sequences, piece_reads


class Verbalizer:
    """Per class its label words' token ids; the scoring sequences every example becomes."""

    def __init__(self, classes, label_words, tokenizer, space_before, lm_kind):
        self.classes = classes
        self.lm_kind = lm_kind
        self.words = []
        for c in classes:
            seen = []
            for w in label_words.get(c, []):
                w = js_trim(w)
                if w and w not in seen:
                    seen.append(w)
            if not seen:
                raise ValueError(f'class "{c}" has no label words')
            self.words.append([list(tokenizer.encode((" " if space_before else "") + w)) for w in seen])
        self.sequences, self.piece_reads = scoring_plan(self.words, lm_kind)

    @property
    def label_word_ids(self):
        return [[w[0] for w in ws] for ws in self.words]

    @property
    def extra_positions(self):
        return max([0] + [len(w) - 1 for ws in self.words for w in ws])

    def scoring_inputs(self, example):
        """The rows one example becomes (ids, softIndex, tokenTypes) and the positions each reads."""
        at = example["maskPosition"]
        ttype = example["tokenTypes"][at]
        inputs, reads = [], []
        for s in self.sequences:
            tokens = [example["ids"][at] if t == MASK_SLOT else t for t in s["tokens"]]
            if self.lm_kind == "causal-lm":
                inputs.append({
                    "ids": example["ids"][: at + 1] + tokens,
                    "softIndex": example["softIndex"][: at + 1] + [-1] * len(tokens),
                    "tokenTypes": example["tokenTypes"][: at + 1] + [ttype] * len(tokens),
                })
            else:
                inputs.append({
                    "ids": example["ids"][:at] + tokens + example["ids"][at + 1:],
                    "softIndex": example["softIndex"][:at] + [-1] * len(tokens) + example["softIndex"][at + 1:],
                    "tokenTypes": example["tokenTypes"][:at] + [ttype] * len(tokens) + example["tokenTypes"][at + 1:],
                })
            reads.append([at + o for o in s["reads"]])
        return inputs, reads


# ---------------------------------------------------------------------------------------------
# Schedule and inits: src/engine/train.ts, src/engine/softPrompt.ts.


def learning_rate_at(step, total_steps, peak, warmup_steps):
    """Linear warmup to ``peak`` over ``warmup_steps`` (0-based step), then linear decay to 0."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    return peak * (total_steps - step) / max(1, total_steps - warmup_steps)


def process_share(examples, rank, world):
    """This process's examples of a global batch and the weight of its mean loss: DDP averages the
    processes' gradients, so with weight len(mine) * world / len(examples) the average is the gradient
    of the whole batch's mean loss, however unevenly it divides. A process left without examples takes
    the first one with weight 0 (it must still take part in the gradient's all-reduce)."""
    mine = examples[rank::world]
    if not mine:
        return examples[:1], 0.0
    return mine, len(mine) * world / len(examples)


def js_round(x):
    """Math.round: halves go up."""
    return int(math.floor(x + 0.5))


VOCAB_INIT_TOP_TOKENS = 5000


def token_frequencies(sequences, specials):
    counts = {}
    for seq in sequences:
        for t in seq:
            if t not in specials:
                counts[t] = counts.get(t, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def sample_ids(candidates, count, seed):
    rng = seeded_random(seed, "init-vocab")
    out = []
    while len(out) < count:
        out.extend(rng.shuffle(candidates)[: count - len(out)])
    return out


def vocab_candidates(frequent, specials, length, vocab_size):
    from_data = [t for t in frequent if t not in specials][:VOCAB_INIT_TOP_TOKENS]
    if len(from_data) >= length:
        return from_data
    ids = []
    for t in range(vocab_size):
        if len(ids) >= VOCAB_INIT_TOP_TOKENS:
            break
        if t not in specials:
            ids.append(t)
    return ids


def init_token_ids(init, length, seed, frequent, specials, vocab_size, label_word_ids=None, text_ids=None):
    """The ids whose embeddings start a 'vocab', 'text' or 'labels' prompt (initTokenIds)."""
    if init == "vocab":
        return sample_ids(vocab_candidates(frequent, specials, length, vocab_size), length, seed)
    if init == "text":
        if not text_ids:
            raise ValueError("the 'text' init needs a non-empty init text")
        return [text_ids[i % len(text_ids)] for i in range(length)]
    if init == "labels":
        per_class = label_word_ids or []
        if not per_class:
            raise ValueError("the 'labels' init needs label words")
        words = []
        for k in range(max(len(ws) for ws in per_class)):
            for ws in per_class:
                if k < len(ws) and ws[k] not in words:
                    words.append(ws[k])
        rest = []
        if length > len(words):
            pool = [t for t in vocab_candidates(frequent, specials, length, vocab_size) if t not in words]
            rest = sample_ids(pool, length - len(words), seed)
        return (words + rest)[:length]
    raise ValueError(f"init {init!r} has no token ids")


def uniform_matrix(rng, rows, cols, bound):
    """[rows, cols] row-major, each (2u - 1) * bound, drawn in the studio's order."""
    return [[(2 * rng.uniform() - 1) * bound for _ in range(cols)] for _ in range(rows)]


def encoder_init(sizes, seed):
    """The prompt encoder's layers as torch nn.Linear's init, drawn as createPromptEncoder draws them: [(W [in, out], b [out])]."""
    rng = seeded_random(seed, "init-encoder")
    layers = []
    for i in range(1, len(sizes)):
        inp, out = sizes[i - 1], sizes[i]
        bound = 1 / math.sqrt(inp)
        w = uniform_matrix(rng, inp, out, bound)
        b = [(2 * rng.uniform() - 1) * bound for _ in range(out)]
        layers.append((w, b))
    return layers


def torch_linears(layers):
    """The prompt encoder's MLP as torch Linear layers holding the studio's [(W [in, out], b [out])]."""
    import torch

    out = torch.nn.ModuleList()
    for w, b in layers:
        lin = torch.nn.Linear(len(w), len(w[0]))
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w, dtype=torch.float32).T)  # studio [in, out] -> torch [out, in]
            lin.bias.copy_(torch.tensor(b, dtype=torch.float32))
        out.append(lin)
    return out


def torch_lstm(layers):
    """P-tuning's LSTM encoder as PEFT builds it (bidirectional, batch first), holding the studio's weights
    from lstm_encoder_init's layout: torch keeps [4E, in] where the studio keeps [in, 4E], and two biases
    where the studio keeps their sum, so bias_hh stays at zero and frozen (trained as well, it would double
    the bias's Adam steps)."""
    import torch

    E = len(layers[0][0][1])
    lstm = torch.nn.LSTM(len(layers[0][0][0]), E, num_layers=len(layers), bidirectional=True, batch_first=True)
    with torch.no_grad():
        for l, pair in enumerate(layers):
            for suffix, (w_in, w_rec, b) in zip(("", "_reverse"), pair):
                getattr(lstm, f"weight_ih_l{l}{suffix}").copy_(torch.tensor(w_in, dtype=torch.float32).T)
                getattr(lstm, f"weight_hh_l{l}{suffix}").copy_(torch.tensor(w_rec, dtype=torch.float32).T)
                getattr(lstm, f"bias_ih_l{l}{suffix}").copy_(torch.tensor(b, dtype=torch.float32))
                bias_hh = getattr(lstm, f"bias_hh_l{l}{suffix}")
                bias_hh.zero_()
                bias_hh.requires_grad_(False)
    return lstm


def run_encoder(x, lstm, linears, activation):
    """The encoder's output for embeddings x [N, in]: the LSTM (if any), then the MLP with `activation` between layers."""
    import torch

    if lstm is not None:
        x = lstm(x[None])[0][0]  # [1, N, H] -> [1, N, 2E] (forward, backward) -> [N, 2E]
    for i, lin in enumerate(linears):
        x = lin(x)
        if i < len(linears) - 1:
            x = torch.relu(x) if activation == "relu" else torch.tanh(x)
    return x


LSTM_ENCODER_LAYERS = 2  # PEFT's num_layers for P-tuning's LSTM (the studio's LSTM_ENCODER_LAYERS)


def lstm_encoder_init(hidden, E, seed):
    """P-tuning's LSTM encoder drawn as createLstmPromptEncoder draws it: per bidirectional layer a
    (forward, backward) pair of (W_in [in, 4E], W_rec [E, 4E], b [4E]) with the gates in torch's order
    (input, forget, cell, output), uniform in +-1/sqrt(E); then the MLP 2E -> 2E -> H as encoder_init."""
    rng = seeded_random(seed, "init-encoder-lstm")
    bound = 1 / math.sqrt(E)

    def direction(inp):
        w_in = uniform_matrix(rng, inp, 4 * E, bound)
        w_rec = uniform_matrix(rng, E, 4 * E, bound)
        b = [(2 * rng.uniform() - 1) * bound for _ in range(4 * E)]
        return w_in, w_rec, b

    layers = []
    for l in range(LSTM_ENCODER_LAYERS):
        inp = hidden if l == 0 else 2 * E
        forward = direction(inp)  # drawn before the backward direction, as the studio draws them
        backward = direction(inp)
        layers.append((forward, backward))
    return layers, encoder_init([2 * E, 2 * E, hidden], seed)


def head_init(hidden, classes, seed):
    """Glorot-uniform [H, C] and zero bias, as createLabelHead."""
    rng = seeded_random(seed, "init-head")
    limit = math.sqrt(6 / (hidden + classes))
    return uniform_matrix(rng, hidden, classes, limit), [0.0] * classes


def macro_f1(predicted, gold, num_classes):
    m = [[0] * num_classes for _ in range(num_classes)]
    for g, p in zip(gold, predicted):
        m[g][p] += 1
    total, n = 0.0, 0
    for c in range(num_classes):
        tp = m[c][c]
        support = sum(m[c])
        predicted_c = sum(row[c] for row in m)
        if support == 0 and predicted_c == 0:
            continue
        n += 1
        total += 0 if tp == 0 else 2 * tp / (support + predicted_c)
    return total / n if n else 0.0


def read_csv(path):
    """Rows as dicts; the studio writes RFC 4180 CSV in UTF-8 (quoted fields may hold commas, quotes and newlines)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def format_float32(x):
    """A float32 as the shortest decimal that reads back as the same float32 (the studio's formatFloat32)."""
    import struct

    f = struct.unpack("f", struct.pack("f", x))[0]
    if f == 0 and math.copysign(1, f) < 0:
        return "-0"
    for p in range(1, 10):
        s = f"{f:.{p}g}"
        if struct.unpack("f", struct.pack("f", float(s)))[0] == f:
            return s
    return repr(f)


def prompt_json_text(vectors, metadata, head=None):
    """prompt.json in the studio's format: metadata, then the head and the vectors one row per line."""
    header = {"format": PROMPT_FORMAT, "formatVersion": PROMPT_FORMAT_VERSION, "numTokens": len(vectors), "dim": len(vectors[0])}
    header.update({k: v for k, v in metadata.items() if k != "head"})
    text = json.dumps(header, indent=2, ensure_ascii=False)

    def matrix(rows, indent):
        lines = [f"{indent}  [" + ", ".join(format_float32(x) for x in row) + "]" for row in rows]
        return "[\n" + ",\n".join(lines) + f"\n{indent}]"

    tail = []
    if head is not None:
        weights, bias = head
        tail.append('  "head": {\n    "weights": ' + matrix(weights, "    ") + ',\n    "bias": [' + ", ".join(format_float32(x) for x in bias) + "]\n  }")
    tail.append('  "vectors": ' + matrix(vectors, "  "))
    return text[:-2] + ",\n" + ",\n".join(tail) + "\n}\n"


# ---------------------------------------------------------------------------------------------
# Training (torch, transformers, peft, accelerate: imported here, not above).


def without_word_start_marker(spec):
    """tokenizer.json without a SentencePiece word-start marker (no Prepend normalizer, a Metaspace that
    prepends nothing), or None when it has none: the studio's withoutWordStartMarker."""
    changed = [False]

    def normalizer(n):
        if isinstance(n, dict) and n.get("type") == "Prepend":
            changed[0] = True
            return None
        if isinstance(n, dict) and n.get("type") == "Sequence" and isinstance(n.get("normalizers"), list):
            return dict(n, normalizers=[x for x in map(normalizer, n["normalizers"]) if x is not None])
        return n

    def pre_tokenizer(p):
        if isinstance(p, dict) and p.get("type") == "Metaspace":
            scheme = p.get("prepend_scheme")
            if scheme is None:
                scheme = "never" if p.get("add_prefix_space") is False else "always"
            if scheme != "never":
                changed[0] = True
                return dict(p, prepend_scheme="never", add_prefix_space=False)
        if isinstance(p, dict) and p.get("type") == "Sequence" and isinstance(p.get("pretokenizers"), list):
            return dict(p, pretokenizers=[pre_tokenizer(x) for x in p["pretokenizers"]])
        return p

    out = dict(spec, normalizer=normalizer(spec.get("normalizer")), pre_tokenizer=pre_tokenizer(spec.get("pre_tokenizer")))
    return out if changed[0] else None


class HfTokenizer:
    """The checkpoint's tokenizer.json (transformers' fast tokenizer's backend): ids without special tokens."""

    def __init__(self, model_id, revision=None):
        from tokenizers import Tokenizer
        from transformers import AutoTokenizer

        self.hf = AutoTokenizer.from_pretrained(model_id, revision=revision)
        self.start = self.hf.backend_tokenizer
        continuation = without_word_start_marker(json.loads(self.start.to_str()))
        self.continuation = self.start if continuation is None else Tokenizer.from_str(json.dumps(continuation))

    def encode_start(self, text):
        return self.start.encode(text, add_special_tokens=False).ids

    def encode(self, text):
        return self.continuation.encode(text, add_special_tokens=False).ids


def build_model(cfg, model_id, dtype):
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM

    model_cfg = cfg["model"]
    auto = AutoModelForCausalLM if model_cfg["lmKind"] == "causal-lm" else AutoModelForMaskedLM
    if not model_cfg.get("hasLmHead", True):
        auto = AutoModel
    model = auto.from_pretrained(model_id, dtype=getattr(torch, dtype))
    model.requires_grad_(False)
    model.eval()  # the studio's forward has no dropout
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the studio's prompt with transformers + PEFT + Accelerate.")
    parser.add_argument("--config", default="studio_config.json")
    parser.add_argument("--model", default=None, help="model id or folder (default: studio_config.json's model.id)")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--output", default="output")
    parser.add_argument("--epochs", type=int, default=None, help="override the studio's epochs")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch size (default: the studio's)")
    parser.add_argument("--eval-batch-size", type=int, default=32, help="validation rows per process and forward pass")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"], help="the frozen model's weights")
    parser.add_argument("--zero-shot-only", action="store_true", help="score the validation split without a prompt, write metrics.json, stop")
    parser.add_argument("--no-initial-prompt", action="store_true", help="ignore initial_prompt/ and start from the studio's init")
    args = parser.parse_args(argv)

    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, gather_object

    with open(args.config, encoding="utf-8") as f:
        cfg = json.load(f)
    root = os.path.dirname(os.path.abspath(args.config))
    settings = cfg["settings"]
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.batch_size is not None:
        settings["batchSize"] = args.batch_size
    model_cfg = cfg["model"]
    model_id = args.model or model_cfg["id"]
    # Some members' parameters may take no part in a step (a prompt of length 0 beside a head): DDP must not wait for them.
    accelerator = Accelerator(kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    device = accelerator.device
    rank, world = accelerator.process_index, accelerator.num_processes
    torch.manual_seed(int(settings["seed"]))

    tokenizer = HfTokenizer(model_id, args.revision)
    base = build_model(cfg, model_id, args.dtype).to(device)
    method = settings.get("method", "prompt")
    mode = settings["mode"]
    classes = cfg["classes"]
    C = len(classes)
    label_column = cfg["labelColumn"]
    train_rows = read_csv(os.path.join(root, "data", "train.csv"))
    val_rows = read_csv(os.path.join(root, "data", "validation.csv"))
    columns = cfg["columns"]
    prefix_length = settings["promptLength"] if method == "prefix" else 0
    prompt_length = 0 if method == "prefix" else settings["promptLength"]
    template = Template(cfg["template"], tokenizer, model_cfg, columns, prompt_length, settings.get("maxLength"), prefix_length, mask_required=mode != "head")
    N = prefix_length if method == "prefix" else template.soft_count
    readable = model_cfg["lmKind"] == "causal-lm" or template.has_mask
    label_words = cfg.get("labelWords") or {}
    verbalizer = None
    if label_words and model_cfg.get("hasLmHead", True) and readable:
        verbalizer = Verbalizer(classes, label_words, tokenizer, template.space_before_prediction, model_cfg["lmKind"])
    if mode == "verbalizer" and verbalizer is None:
        raise SystemExit("verbalizer mode needs label words and a model with an LM head")
    reserve = verbalizer.extra_positions if (mode == "verbalizer" and verbalizer) else 0

    def encode(rows, with_soft=True, reserve_=reserve):
        out = []
        for i, r in enumerate(rows):
            label = r[label_column]
            if label not in classes:
                raise SystemExit(f"row {i + 2}: label {label!r} is not one of the classes {classes}")
            out.append((template.encode(r, with_soft=with_soft, reserve=reserve_), classes.index(label)))
        return out

    train = encode(train_rows)
    val = encode(val_rows)
    H = model_cfg["hiddenSize"]
    L = model_cfg["numLayers"]
    pad_id = model_cfg["special"].get("pad")
    pad_id = 0 if pad_id is None else pad_id
    specials = {v for v in model_cfg["special"].values() if v is not None}
    embeddings = base.get_input_embeddings()

    # ---- batches: every example becomes its scoring rows, padded on the right. Right padding gives
    # the studio's outputs for decoders too: positions count real tokens, padding comes after them.
    def make_batch(examples, score_mode, with_prompt):
        rows, reads = [], []
        for enc, _ in examples:
            if score_mode == "verbalizer":
                inputs, rd = verbalizer.scoring_inputs(enc)
                rows.extend(inputs)
                reads.extend(rd)
            else:
                rows.append(enc)
                reads.append([0 if (score_mode == "head" and model_cfg["lmKind"] == "masked-lm") else enc["maskPosition"]])
        T = max(len(r["ids"]) for r in rows)
        ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        types = torch.zeros((len(rows), T), dtype=torch.long)
        soft = torch.full((len(rows), T), -1, dtype=torch.long)
        for b, r in enumerate(rows):
            n = len(r["ids"])
            ids[b, :n] = torch.tensor(r["ids"])
            mask[b, :n] = 1
            types[b, :n] = torch.tensor(r["tokenTypes"])
            soft[b, :n] = torch.tensor(r["softIndex"])
        K = max(len(r) for r in reads)
        read_pos = torch.zeros((len(rows), K), dtype=torch.long)
        for b, r in enumerate(reads):
            read_pos[b, : len(r)] = torch.tensor(r)
        labels = torch.tensor([lab for _, lab in examples], dtype=torch.long)
        return {k: v.to(device) for k, v in dict(ids=ids, mask=mask, types=types, soft=soft, reads=read_pos, labels=labels).items()}

    # ---- the trainable parts of one member: vectors [N, D], optional encoder, optional head.
    class Member(torch.nn.Module):
        def __init__(self, vectors, encoder=None, activation="relu", head=None, lstm=None):
            super().__init__()
            self.vectors = torch.nn.Parameter(torch.tensor(vectors, dtype=torch.float32))
            self.encoder = torch_linears(encoder or [])
            self.activation = activation
            self.lstm = torch_lstm(lstm) if lstm else None
            self.head_weight = torch.nn.Parameter(torch.tensor(head[0], dtype=torch.float32)) if head else None
            self.head_bias = torch.nn.Parameter(torch.tensor(head[1], dtype=torch.float32)) if head else None

        def output(self):
            return run_encoder(self.vectors, self.lstm, self.encoder, self.activation)

    def key_values(ids):
        """[len(ids), L x 2 x H]: every layer's keys and values for the tokens as one sequence (PEFT's prefix layout)."""
        captured = {}
        hooks = []
        mt = model_cfg["modelType"]
        for l, layer in enumerate(_layers(base, mt)):
            if mt == "gpt2":
                hooks.append(layer.attn.c_attn.register_forward_hook(lambda m, i, o, l=l: captured.__setitem__(l, (o[..., H:2 * H], o[..., 2 * H:]))))
            elif mt in ("bert", "roberta"):
                att = layer.attention.self
                hooks.append(att.key.register_forward_hook(lambda m, i, o, l=l: captured.__setitem__((l, "k"), o)))
                hooks.append(att.value.register_forward_hook(lambda m, i, o, l=l: captured.__setitem__((l, "v"), o)))
            else:
                raise SystemExit(f"prefix inits from activations are not written for {mt}; use --no-initial-prompt with init random")
        try:
            with torch.no_grad():
                t = torch.tensor([ids], device=device)
                base(input_ids=t, attention_mask=torch.ones_like(t))
        finally:
            for h in hooks:
                h.remove()
        parts = []
        for l in range(L):
            k, v = captured[l] if mt == "gpt2" else (captured[(l, "k")], captured[(l, "v")])
            parts.extend([k[0], v[0]])
        return torch.cat(parts, dim=-1).float().cpu()  # [n, L*2*H]

    def new_member(seed):
        init = cfg["init"]["kind"]
        frequent = token_frequencies([e["ids"] for e, _ in train], specials)
        vocab_size = min(model_cfg["vocabSize"], model_cfg.get("tokenizerVocabSize", model_cfg["vocabSize"]))
        text_ids = tokenizer.encode_start(js_trim(cfg["init"].get("text") or "")) if init == "text" else None
        head = head_init(H, C, seed) if mode == "head" else None
        E = settings.get("encoderHiddenSize") or H

        def ids_for(kind):
            return init_token_ids(kind, N, seed, frequent, specials, vocab_size, cfg["init"].get("labelWordIds"), text_ids)

        table = embeddings.weight.detach().float().cpu()
        projected = method == "p-tuning" or (method == "prefix" and settings.get("prefixProjection"))
        if method == "prefix" and not projected:
            if init == "random":
                ref = key_values(ids_for("vocab"))
                std = float(ref.double().std(unbiased=False))
                rng = seeded_random(seed, "init-random")
                vectors = [[std * rng.normal() for _ in range(L * 2 * H)] for _ in range(N)]
            else:
                vectors = key_values(ids_for(init)).tolist()
            return Member(vectors, head=head)
        if init == "random":
            std = float(table.double().std(unbiased=False))
            rng = seeded_random(seed, "init-random")
            vectors = [[std * rng.normal() for _ in range(H)] for _ in range(N)]
        else:
            vectors = table[torch.tensor(ids_for(init))].tolist()
        if method == "p-tuning" and settings.get("encoderType") == "lstm":
            lstm, mlp = lstm_encoder_init(H, E, seed)
            return Member(vectors, mlp, "relu", head, lstm=lstm)
        if method == "p-tuning":
            return Member(vectors, encoder_init([H, E, E, H], seed), "relu", head)
        if method == "prefix":
            return Member(vectors, encoder_init([H, E, L * 2 * H], seed), "tanh", head)
        return Member(vectors, head=head)

    def member_from_values(values):
        head = None
        if mode == "head":
            if values.get("head"):
                head = (values["head"]["weights"], values["head"]["bias"])
            else:
                head = head_init(H, C, settings["seed"])
        return Member(values["vectors"], head=head)

    K_members = int(settings.get("ensembleSize") or 1)
    initial_path = os.path.join(root, "initial_prompt", "prompt.json")
    if os.path.exists(initial_path) and not args.no_initial_prompt:
        with open(initial_path, encoding="utf-8") as f:
            initial = json.load(f)
        members = [member_from_values(initial)]
        for k in range(1, K_members):
            mp = os.path.join(root, "initial_prompt", "members", str(k + 1), "prompt.json")
            with open(mp, encoding="utf-8") as f:
                members.append(member_from_values(json.load(f)))
    else:
        members = [new_member(settings["seed"] + k * cfg["ensembleSeedStep"]) for k in range(K_members)]

    class Prompts(torch.nn.Module):
        """The frozen model and the members: one module, so DDP, FSDP and DeepSpeed see the trainable parameters."""

        def __init__(self, base, members):
            super().__init__()
            self.base = base
            self.members = torch.nn.ModuleList(members)

        def embed(self, batch, k, with_prompt):
            """The base model's outputs for the batch with member k's prompt (or none)."""
            ids, mask = batch["ids"], batch["mask"]
            member = self.members[k] if with_prompt else None
            kwargs = {"attention_mask": mask, "output_hidden_states": True}
            if model_cfg["typeVocabSize"] > 1:
                kwargs["token_type_ids"] = batch["types"]
            words = self.base.get_input_embeddings()(ids)
            offset = 0
            if member is not None and method == "prefix":
                kwargs["past_key_values"], kwargs["attention_mask"] = _prefix_cache(member.output(), mask, model_cfg, words.dtype)
                offset = N
            elif member is not None and N > 0:
                vectors = member.output().to(words.dtype)  # [N, H]
                soft = batch["soft"]
                at = soft >= 0
                words = words.clone()
                words[at] = vectors[soft[at]]
            if model_cfg["lmKind"] == "causal-lm" or offset:
                kwargs["position_ids"] = _positions(mask, offset, model_cfg["positionOffset"])
            return self.base(inputs_embeds=words, **kwargs)

        def forward(self, batch, ks, score_mode, with_prompt=True):
            """Class scores [len(ks), B, C] of the members ks (through DDP's forward when training)."""
            reads = batch["reads"]  # [R, Kr]
            rows = torch.arange(reads.shape[0], device=reads.device)[:, None]
            scores = []
            for k in ks:
                out = self.embed(batch, k, with_prompt)
                if score_mode == "head":
                    member = self.members[k]
                    h = out.hidden_states[-1][rows, reads][:, 0].float()  # [B, H]
                    scores.append(h @ member.head_weight + member.head_bias)  # [B, H] x [H, C] -> [B, C]
                else:
                    logp = torch.log_softmax(out.logits[rows, reads].float(), dim=-1)  # [R, Kr, V]
                    scores.append(_class_scores(logp, verbalizer, len(batch["labels"])))
            return torch.stack(scores)

    model = Prompts(base, members)
    def own_parameters(m):
        return [p for p in m.parameters() if p.requires_grad]  # not an LSTM's frozen bias_hh

    trainable = [p for m in members for p in own_parameters(m)]
    groups = []  # per member, the indices of its parameters in `trainable`
    for m in members:
        groups.append(list(range(sum(len(g) for g in groups), sum(len(g) for g in groups) + len(own_parameters(m)))))
    adam = cfg["optimizer"]
    optimizer = torch.optim.Adam(trainable, lr=settings["learningRate"], betas=(adam["beta1"], adam["beta2"]), eps=adam["epsilon"])
    model, optimizer = accelerator.prepare(model, optimizer)
    inner = accelerator.unwrap_model(model)

    def evaluate(examples, score_mode, with_prompt, ks):
        """Per validation row (index, loss, probabilities), this process's share, gathered to all."""
        mine = list(range(rank, len(examples), world))
        per_row = max(1, len(verbalizer.sequences)) if score_mode == "verbalizer" else 1
        step = max(1, args.eval_batch_size // per_row)
        results = []
        with torch.no_grad():
            for i in range(0, len(mine), step):
                idx = mine[i:i + step]
                batch = make_batch([examples[j] for j in idx], score_mode, with_prompt)
                scores = inner(batch, ks, score_mode, with_prompt)  # [K, B, C]
                # One member: its log-softmax (what the loss sees); several: the log of their mean probability.
                logp = torch.log_softmax(scores[0], dim=-1) if len(ks) == 1 else torch.log(torch.softmax(scores, dim=-1).mean(dim=0))
                probs = logp.exp()
                nll = -logp[torch.arange(len(idx)), batch["labels"]]
                for j, row, loss in zip(idx, probs.tolist(), nll.tolist()):
                    results.append((j, loss, row))
        gathered = sorted(gather_object(results), key=lambda r: r[0])
        gold = [lab for _, lab in examples]
        predicted = [max(range(C), key=lambda c: r[2][c]) for r in gathered]  # first of equal maxima, as indexOf(max)
        n = len(examples)
        return {
            "loss": sum(r[1] for r in gathered) / n if n else float("nan"),
            "accuracy": sum(int(p == g) for p, g in zip(predicted, gold)) / n if n else 0.0,
            "macroF1": macro_f1(predicted, gold, C),
            "predictions": [{"index": r[0], "gold": classes[gold[r[0]]], "predicted": classes[p], "probabilities": r[2]} for r, p in zip(gathered, predicted)],
        }

    started = time.time()
    zero_shot = None
    if verbalizer is not None and val_rows:
        zero = encode(val_rows, with_soft=False, reserve_=verbalizer.extra_positions)
        zero_shot = evaluate(zero, "verbalizer", False, [0])
        accelerator.print(json.dumps({"event": "zeroShot", "loss": zero_shot["loss"], "accuracy": zero_shot["accuracy"], "macroF1": zero_shot["macroF1"]}))
    metrics = {
        "format": METRICS_FORMAT,
        "formatVersion": METRICS_FORMAT_VERSION,
        "model": {"id": model_id, "modelType": model_cfg["modelType"]},
        "task": "classification",
        "method": method,
        "mode": mode,
        "classes": classes,
        "trainSize": len(train),
        "valSize": len(val),
        "processes": world,
        "zeroShot": _summary(zero_shot),
        "validation": None,
        "bestEpoch": None,
        "epochs": [],
        "steps": 0,
        "totalSteps": 0,
        "stopReason": "zero-shot-only" if args.zero_shot_only else "completed",
        "seconds": 0.0,
        "predictions": {"zeroShot": zero_shot["predictions"] if zero_shot else None, "validation": None},
    }
    out_dir = args.output
    if args.zero_shot_only:
        metrics["seconds"] = time.time() - started
        if accelerator.is_main_process:
            os.makedirs(out_dir, exist_ok=True)
            _write_json(os.path.join(out_dir, "metrics.json"), metrics)
        accelerator.end_training()
        return 0

    # ---- the loop: src/engine/train.ts runTraining.
    B = settings["batchSize"]
    steps_per_epoch = math.ceil(len(train) / B)
    total_steps = steps_per_epoch * settings["epochs"]
    warmup_steps = js_round(settings["warmupFraction"] * total_steps)
    clip = settings["maxGradNorm"]
    patience = settings["patience"]
    shuffler = seeded_random(settings["seed"], "shuffle")
    best = None
    since_best = 0
    step = 0
    losses = []
    stop_reason = "completed"
    message = None
    for epoch in range(1, settings["epochs"] + 1):
        order = shuffler.shuffle(train)
        epoch_losses = []
        for bi in range(steps_per_epoch):
            examples = order[bi * B:(bi + 1) * B]
            mine, weight = process_share(examples, rank, world)
            lr = learning_rate_at(step, total_steps, settings["learningRate"], warmup_steps)
            for g in optimizer.param_groups:
                g["lr"] = lr
            batch = make_batch(mine, mode, True)
            scores = model(batch, list(range(len(members))), mode)  # [K, B, C], through DDP's forward
            loss = torch.stack([torch.nn.functional.cross_entropy(s, batch["labels"]) for s in scores]).mean()
            optimizer.zero_grad(set_to_none=False)
            accelerator.backward(loss * weight)
            # The batch's loss over every process: the same number (and the same finite or not) everywhere.
            value = float(accelerator.reduce(loss.detach() * weight, reduction="mean"))
            before = [p.detach().clone() for p in trainable]
            # Each member clipped on its own (its gradient is 1/K of its loss's): the studio's groups.
            finite_all = []
            sharded = accelerator.distributed_type.name in ("FSDP", "DEEPSPEED")
            for group in groups:
                params = [trainable[i] for i in group if trainable[i].grad is not None]
                if sharded:
                    # Gradients are sharded across processes: accelerate computes the global norm (and clips) itself.
                    norm = accelerator.clip_grad_norm_(params, clip / len(groups)) if clip > 0 else torch.zeros(())
                    finite_all.append(bool(torch.isfinite(norm)) and math.isfinite(value))
                    continue
                norm = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in params))
                finite = bool(torch.isfinite(norm)) and math.isfinite(value)
                scale = min(1.0, (clip / len(groups)) / (float(norm) + 1e-6 / len(groups))) if clip > 0 and finite else 1.0
                for p in params:
                    if finite:
                        p.grad.mul_(scale)
                    else:
                        p.grad.zero_()
                finite_all.append(finite)
            optimizer.step()
            with torch.no_grad():  # a non-finite step leaves the member as it was (Adam's moments still move)
                for group, finite in zip(groups, finite_all):
                    if not finite:
                        for i in group:
                            trainable[i].copy_(before[i])
            step += 1
            losses.append(value)
            epoch_losses.append(value)
            if not math.isfinite(value):
                stop_reason = "non-finite-loss"
                message = f"training stopped at step {step}: the loss became {value}"
                break
        if stop_reason == "non-finite-loss":
            break
        validation = evaluate(val, mode, True, list(range(len(members)))) if val else None
        report = {"epoch": epoch, "step": step, "trainLoss": sum(epoch_losses) / max(1, len(epoch_losses)),
                  "valLoss": validation["loss"] if validation else None,
                  "valAccuracy": validation["accuracy"] if validation else None,
                  "valMacroF1": validation["macroF1"] if validation else None}
        metrics["epochs"].append(report)
        accelerator.print(json.dumps({"event": "epoch", **report, "lr": lr}))
        if validation:
            if best is None or validation["loss"] < best["loss"]:
                best = {"loss": validation["loss"], "epoch": epoch, "state": [p.detach().clone() for p in trainable], "validation": validation}
                since_best = 0
            else:
                since_best += 1
                if patience > 0 and since_best >= patience:
                    stop_reason = "early-stopped"
                    message = f"early stop after epoch {epoch}: no better validation loss for {patience} epochs (best {best['loss']:.4f} at epoch {best['epoch']})"
                    break
    if best is not None and stop_reason in ("completed", "early-stopped"):
        with torch.no_grad():
            for p, v in zip(trainable, best["state"]):
                p.copy_(v)
        final = best["validation"]
        metrics["bestEpoch"] = best["epoch"]
    else:
        final = evaluate(val, mode, True, list(range(len(members)))) if val else None
    metrics.update({"validation": _summary(final), "steps": step, "totalSteps": total_steps, "stopReason": stop_reason, "trainLosses": losses,
                    "seconds": time.time() - started})
    if message:
        metrics["message"] = message
    metrics["predictions"]["validation"] = final["predictions"] if final else None

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        os.makedirs(out_dir, exist_ok=True)
        meta = dict(cfg["promptMetadata"])
        meta["model"] = dict(meta["model"], id=model_id)
        meta["createdAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if final is not None:
            meta["metrics"] = {"kind": "classification", "zeroShotAccuracy": zero_shot["accuracy"] if zero_shot else None,
                               "accuracy": final["accuracy"], "zeroShotMacroF1": zero_shot["macroF1"] if zero_shot else None,
                               "macroF1": final["macroF1"]}
        for k, member in enumerate(inner.members):
            with torch.no_grad():
                vectors = member.output().float().cpu()
                head = (member.head_weight.float().cpu().tolist(), member.head_bias.float().cpu().tolist()) if member.head_weight is not None else None
            folder = out_dir if k == 0 else os.path.join(out_dir, "members", str(k + 1))
            os.makedirs(folder, exist_ok=True)
            member_meta = dict(meta, seed=settings["seed"] + k * cfg["ensembleSeedStep"])
            with open(os.path.join(folder, "prompt.json"), "w", encoding="utf-8") as f:
                f.write(prompt_json_text(vectors.tolist(), member_meta, head))
            _save_peft(cfg, inner.base, vectors, model_id, os.path.join(folder, "peft"))
        _write_json(os.path.join(out_dir, "metrics.json"), metrics)
        accelerator.print(json.dumps({"event": "done", "output": out_dir, "accuracy": final["accuracy"] if final else None, "bestEpoch": metrics["bestEpoch"]}))
    accelerator.end_training()
    return 0


def _summary(report):
    return None if report is None else {"loss": report["loss"], "accuracy": report["accuracy"], "macroF1": report["macroF1"]}


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def _layers(base, model_type):
    inner = getattr(base, "base_model", base)
    if model_type == "gpt2":
        return inner.h
    return inner.encoder.layer


def _positions(mask, offset, family_offset=0):
    """Position ids counting real tokens (right padding: 0..n-1, pads after), after ``offset`` prefix positions
    (RoBERTa's start at padding_idx + 1: ``family_offset``)."""
    import torch

    return (torch.cumsum(mask, dim=1) - 1).clamp(min=0) + offset + family_offset


def _prefix_cache(prefix, mask, model_cfg, dtype):
    """A key/value cache holding the prefix [N, L x 2 x kv width] at every layer, and the attention mask extended by N."""
    import torch
    from transformers import DynamicCache

    B = mask.shape[0]
    N = prefix.shape[0]
    L, H = model_cfg["numLayers"], model_cfg["hiddenSize"]
    # Grouped-query families hold numKeyValueHeads x headDim per key and value (PEFT's layout for them).
    heads = model_cfg.get("numKeyValueHeads") or model_cfg["numHeads"]
    head_dim = model_cfg.get("headDim") or H // model_cfg["numHeads"]
    kv = prefix.to(dtype).view(N, L * 2, heads, head_dim).permute(1, 2, 0, 3)  # [L*2, kv heads, N, hd]
    cache = DynamicCache()
    for layer in range(L):
        k = kv[2 * layer].unsqueeze(0).expand(B, -1, -1, -1)
        v = kv[2 * layer + 1].unsqueeze(0).expand(B, -1, -1, -1)
        cache.update(k, v, layer)
    return cache, torch.cat([torch.ones((B, N), dtype=mask.dtype, device=mask.device), mask], dim=1)


def _class_scores(logp, verbalizer, batch_size):
    """[R, Kr, V] log-probabilities at the reads -> [B, C]: the mean over each class's words of their pieces' sum."""
    import torch

    S = len(verbalizer.sequences)
    logp = logp.view(batch_size, S, logp.shape[1], logp.shape[2])
    classes = []
    for per_class in verbalizer.piece_reads:
        words = [sum(logp[:, s, r, t] for s, r, t in pieces) for pieces in per_class]
        classes.append(torch.stack(words, dim=-1).mean(dim=-1))
    return torch.stack(classes, dim=-1)


def _save_peft(cfg, base, vectors, model_id, folder):
    """The PEFT adapter via PEFT's own save_pretrained: the vectors (an encoder's output, a prefix's keys and values) as prompt_embeddings."""
    import torch
    from peft import PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, get_peft_model

    model_cfg = cfg["model"]
    method = cfg["settings"].get("method", "prompt")
    task_type = "CAUSAL_LM" if model_cfg["lmKind"] == "causal-lm" else "FEATURE_EXTRACTION"
    common = dict(task_type=task_type, num_virtual_tokens=vectors.shape[0], token_dim=model_cfg["hiddenSize"],
                  num_transformer_submodules=1, num_attention_heads=model_cfg["numHeads"], num_layers=model_cfg["numLayers"],
                  inference_mode=True, base_model_name_or_path=model_id)
    if method == "prefix":
        config = PrefixTuningConfig(prefix_projection=False, encoder_hidden_size=cfg["settings"].get("encoderHiddenSize") or model_cfg["hiddenSize"], **common)
    elif method == "p-tuning":
        encoder_type = "LSTM" if cfg["settings"].get("encoderType") == "lstm" else "MLP"
        config = PromptEncoderConfig(encoder_reparameterization_type=encoder_type, encoder_hidden_size=cfg["settings"].get("encoderHiddenSize") or model_cfg["hiddenSize"], **common)
    else:
        config = PromptTuningConfig(**common)
    try:
        peft_model = get_peft_model(base, config)
        with torch.no_grad():
            weight = peft_model.prompt_encoder["default"].embedding.weight
            weight.copy_(vectors.to(weight.dtype))
        peft_model.save_pretrained(folder)
    except Exception as e:  # e.g. a PEFT that does not know this family: the same two files, written directly
        print(f"warning: PEFT's save_pretrained failed ({type(e).__name__}: {e}); writing the adapter files directly", file=sys.stderr)
        from safetensors.torch import save_file

        os.makedirs(folder, exist_ok=True)
        save_file({"prompt_embeddings": vectors.float().contiguous()}, os.path.join(folder, "adapter_model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(folder, "adapter_config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg["peftConfig"], f, indent=2, sort_keys=True)


if __name__ == "__main__":
    sys.exit(main())
