#!/usr/bin/env python3
"""Writes the tiny model directories the import tests read, and their expected values.

    python3 -m venv v && v/bin/pip install numpy tokenizers && v/bin/python scripts/make_tiny_models.py

tests/models/tiny-bert/  (model_type "bert": 2 layers, 2 heads, width 8, F32 weights,
                          tokenizer.json and vocab.txt of a 32-word WordPiece vocabulary)
tests/models/tiny-gpt2/  (model_type "gpt2": the same sizes, Conv1D layout, F16 weights with
                          c_attn in BF16, a byte-level BPE tokenizer.json)

Weights are seeded random numbers; the safetensors files are written by hand (header JSON +
little-endian data), so only NumPy and the `tokenizers` package are needed. Each directory gets
expected.json: for TEXT and LAYER, the token ids (the Python tokenizers library's), the initial
tokens (embeddings, and BERT's embedding LayerNorm, in float64), every head's attention scores
q_i·k_j/sqrt(d_h) and the layer's attention output sum_h W_O^h softmax(S^h) V^h x, computed
from the model's own layout (Linear: x W^T; Conv1D: x W) without the biases the pure-attention
ODE drops. tests/import.rs compares attncert's import with these to 1e-5 relative.
"""
import json
import os
import struct
import sys

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders, trainers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models")
TEXT = "The cat sat on the mat."
LAYER = 1
D, HEADS, LAYERS, POS = 8, 2, 2, 16
DH = D // HEADS


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, ndarray of that dtype's bits or values)."""
    header, blobs, offset = {}, [], 0
    for name, dtype, arr in tensors:
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def to_bf16(x):
    """float32 array -> (uint16 bf16 bits, float64 exact values): bf16 keeps the top 16 bits."""
    bits = (np.asarray(x, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return bits, (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(x, heads, causal):
    """heads: list of (WQ, WK, WV, WO) in (out, in) layout; x: tokens as rows."""
    scores, out = [], np.zeros_like(x)
    n = x.shape[0]
    for wq, wk, wv, wo in heads:
        s = (x @ wq.T) @ (x @ wk.T).T / np.sqrt(DH)
        scores.append(s)
        if causal:
            s = np.where(np.tril(np.ones((n, n))) > 0, s, -np.inf)
        out += softmax(s) @ (x @ wv.T) @ wo.T
    return scores, out


def bert(rng):
    d = os.path.join(ROOT, "tiny-bert")
    os.makedirs(d, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "a", "dog",
             "ran", "to", "it", "is", "##s", "##ed", "and", "of", "in", "was", "he", "she", "they", ",", "!", "?", "big", "red", "blue"]
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")
    vocab = {w: i for i, w in enumerate(words)}
    tk = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.BertProcessing(("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"]))
    tk.decoder = decoders.WordPiece()
    tk.save(os.path.join(d, "tokenizer.json"))
    cfg = {"model_type": "bert", "hidden_size": D, "num_attention_heads": HEADS, "num_hidden_layers": LAYERS,
           "intermediate_size": 16, "layer_norm_eps": 1e-12, "max_position_embeddings": POS, "type_vocab_size": 2,
           "vocab_size": len(words), "architectures": ["BertModel"]}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32) * np.float32(0.5)
    t = {"embeddings.word_embeddings.weight": f32(len(words), D), "embeddings.position_embeddings.weight": f32(POS, D),
         "embeddings.token_type_embeddings.weight": f32(2, D),
         "embeddings.LayerNorm.weight": (1 + f32(D) * np.float32(0.2)).astype(np.float32), "embeddings.LayerNorm.bias": f32(D)}
    for l in range(LAYERS):
        b = f"encoder.layer.{l}"
        for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            t[f"{b}.{n}.weight"], t[f"{b}.{n}.bias"] = f32(D, D), f32(D)
        t[f"{b}.attention.output.LayerNorm.weight"], t[f"{b}.attention.output.LayerNorm.bias"] = f32(D), f32(D)
        t[f"{b}.intermediate.dense.weight"], t[f"{b}.intermediate.dense.bias"] = f32(16, D), f32(16)
        t[f"{b}.output.dense.weight"], t[f"{b}.output.dense.bias"] = f32(D, 16), f32(D)
        t[f"{b}.output.LayerNorm.weight"], t[f"{b}.output.LayerNorm.bias"] = f32(D), f32(D)
    write_safetensors(os.path.join(d, "model.safetensors"), [(k, "F32", v) for k, v in t.items()])
    w = {k: v.astype(np.float64) for k, v in t.items()}
    enc = tk.encode(TEXT)
    ids = enc.ids
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: len(ids)] \
        + w["embeddings.token_type_embeddings.weight"][0]
    mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    x = (x - mu) / np.sqrt(var + 1e-12) * w["embeddings.LayerNorm.weight"] + w["embeddings.LayerNorm.bias"]
    b = f"encoder.layer.{LAYER}.attention"
    q, k, v, o = (w[f"{b}.{n}.weight"] for n in ["self.query", "self.key", "self.value", "output.dense"])
    heads = [(q[h * DH:(h + 1) * DH], k[h * DH:(h + 1) * DH], v[h * DH:(h + 1) * DH], o[:, h * DH:(h + 1) * DH]) for h in range(HEADS)]
    return d, enc, x, heads, False


def gpt2(rng):
    d = os.path.join(ROOT, "tiny-gpt2")
    os.makedirs(d, exist_ok=True)
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(["The cat sat on the mat.", "A dog ran to the cat, and the cat sat."] * 10, trainer)
    tk.save(os.path.join(d, "tokenizer.json"))
    nv = tk.get_vocab_size()
    cfg = {"model_type": "gpt2", "n_embd": D, "n_head": HEADS, "n_layer": LAYERS, "n_positions": POS,
           "layer_norm_epsilon": 1e-5, "vocab_size": nv, "architectures": ["GPT2LMHeadModel"]}
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    f16 = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float16)
    tensors, w = [], {}

    def put(name, arr, bf16=False):
        if bf16:
            bits, exact = to_bf16(arr)
            tensors.append((name, "BF16", bits))
            w[name] = exact
        else:
            tensors.append((name, "F16", arr))
            w[name] = arr.astype(np.float64)

    put("wte.weight", f16(nv, D))
    put("wpe.weight", f16(POS, D))
    for l in range(LAYERS):
        b = f"h.{l}"
        put(f"{b}.ln_1.weight", f16(D)); put(f"{b}.ln_1.bias", f16(D))
        put(f"{b}.attn.c_attn.weight", (rng.standard_normal((D, 3 * D)) * 0.5).astype(np.float32), bf16=True)
        put(f"{b}.attn.c_attn.bias", f16(3 * D))
        put(f"{b}.attn.c_proj.weight", f16(D, D)); put(f"{b}.attn.c_proj.bias", f16(D))
        put(f"{b}.ln_2.weight", f16(D)); put(f"{b}.ln_2.bias", f16(D))
        put(f"{b}.mlp.c_fc.weight", f16(D, 16)); put(f"{b}.mlp.c_fc.bias", f16(16))
        put(f"{b}.mlp.c_proj.weight", f16(16, D)); put(f"{b}.mlp.c_proj.bias", f16(D))
    put("ln_f.weight", f16(D)); put("ln_f.bias", f16(D))
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    enc = tk.encode(TEXT)
    ids = enc.ids
    x = w["wte.weight"][ids] + w["wpe.weight"][: len(ids)]
    W, O = w[f"h.{LAYER}.attn.c_attn.weight"], w[f"h.{LAYER}.attn.c_proj.weight"]
    # Conv1D: q = x W[:, 0:D], so in (out, in) layout W_Q = W[:, 0:D]^T; c_proj: out = c W_O^T with W_O = c_proj^T.
    heads = []
    for h in range(HEADS):
        sl = slice(h * DH, (h + 1) * DH)
        heads.append((W[:, 0:D][:, sl].T, W[:, D:2 * D][:, sl].T, W[:, 2 * D:][:, sl].T, O.T[:, sl]))
    return d, enc, x, heads, True


def main():
    for make, seed in [(bert, 14), (gpt2, 41)]:
        d, enc, x, heads, causal = make(np.random.default_rng(seed))
        scores, out = attention(x, heads, causal)
        json.dump({"text": TEXT, "layer": LAYER, "ids": enc.ids, "pieces": enc.tokens, "initial": x.tolist(),
                   "scores": [s.tolist() for s in scores], "attention_output": out.tolist()},
                  open(os.path.join(d, "expected.json"), "w"), indent=1)
        print(d, "ids", enc.ids, file=sys.stderr)


if __name__ == "__main__":
    main()
