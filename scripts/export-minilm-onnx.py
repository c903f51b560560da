#!/usr/bin/env python3
"""Build the ONNX files of all-MiniLM-L6-v2 from its safetensors weights, without torch.

    export-minilm-onnx.py MODEL_DIR OUT_DIR

MODEL_DIR holds config.json and model.safetensors (the sentence-transformers files that
scripts/fetch-models.sh unpacks). OUT_DIR receives:

    model.onnx          fp32 BertModel graph (no pooler), opset 17
    model_int8.onnx     the same after onnxruntime's quantize_dynamic
                        (QInt8 weights, per channel: MatMulInteger)
    quarry-model.json   what quarry needs to know to use them

The graph is written node by node with the onnx helper API and follows the structure of
torch.onnx.export of transformers.BertModel (opset 17):

    inputs   input_ids, attention_mask, token_type_ids   int64 [batch_size, sequence_length]
    output   last_hidden_state                           float32 [batch_size, sequence_length, 384]

The output is per token; the caller mean-pools it over attention_mask and L2-normalises.

Before it returns, the script checks its own output: the fp32 model against a float64 numpy
forward pass, two sentence-pair similarities against known values, and the int8 model
against the fp32 one. It exits non-zero when a check fails, so a bad file is never installed.

Needs numpy, onnx and onnxruntime (fetch-models.sh runs it from $QUARRY_CACHE/venv).
"""

import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # what torch.onnx.export writes for opset 17; readable by every onnxruntime >= 1.10

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_LENGTH = 256  # sentence-transformers' max_seq_length for this model


def log(msg):
    print("export: " + msg, flush=True)


def fail(msg):
    sys.exit("export: error: " + msg)


# --- weights -------------------------------------------------------------------

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64}


def read_safetensors(path):
    """Reads a .safetensors file: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("%s is too short to be a safetensors file" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail("%s: header length %d runs past the end of the file" % (path, n))
    header = json.loads(raw[8 : 8 + n])
    data = memoryview(raw)[8 + n :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            fail("%s: tensor %s has unsupported dtype %s" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * np.dtype(dtype).itemsize or end > len(data):
            fail("%s: tensor %s has inconsistent offsets" % (path, name))
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = arr.reshape(shape).astype(dtype, copy=True)
    return tensors


class Config:
    def __init__(self, path):
        with open(path) as f:
            c = json.load(f)
        try:
            self.hidden = int(c["hidden_size"])
            self.layers = int(c["num_hidden_layers"])
            self.heads = int(c["num_attention_heads"])
            self.intermediate = int(c["intermediate_size"])
            self.eps = float(c["layer_norm_eps"])
            self.vocab = int(c["vocab_size"])
            self.max_pos = int(c["max_position_embeddings"])
            self.type_vocab = int(c["type_vocab_size"])
        except KeyError as e:
            fail("%s lacks %s" % (path, e))
        if c.get("model_type", "bert") != "bert":
            fail("%s: model_type %r is not bert" % (path, c.get("model_type")))
        if c.get("hidden_act", "gelu") != "gelu":
            fail("%s: hidden_act %r is not supported (only gelu, the erf form)" % (path, c.get("hidden_act")))
        if c.get("position_embedding_type", "absolute") != "absolute":
            fail("%s: position_embedding_type %r is not supported" % (path, c.get("position_embedding_type")))
        if self.hidden % self.heads:
            fail("%s: hidden_size %d is not a multiple of num_attention_heads %d" % (path, self.hidden, self.heads))
        self.head_dim = self.hidden // self.heads


def check_weights(w, cfg):
    h, i = cfg.hidden, cfg.intermediate
    want = {
        "embeddings.word_embeddings.weight": (cfg.vocab, h),
        "embeddings.position_embeddings.weight": (cfg.max_pos, h),
        "embeddings.token_type_embeddings.weight": (cfg.type_vocab, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for layer in range(cfg.layers):
        p = "encoder.layer.%d." % layer
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            want[p + m + ".weight"] = (h, h)
            want[p + m + ".bias"] = (h,)
        want[p + "intermediate.dense.weight"] = (i, h)
        want[p + "intermediate.dense.bias"] = (i,)
        want[p + "output.dense.weight"] = (h, i)
        want[p + "output.dense.bias"] = (h,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            want[p + ln + ".weight"] = (h,)
            want[p + ln + ".bias"] = (h,)
    for name, shape in want.items():
        if name not in w:
            fail("model.safetensors lacks %s" % name)
        if tuple(w[name].shape) != shape:
            fail("model.safetensors: %s has shape %s, expected %s" % (name, w[name].shape, shape))
        if w[name].dtype != np.float32:
            fail("model.safetensors: %s is %s, expected float32" % (name, w[name].dtype))


# --- graph ---------------------------------------------------------------------


class GraphBuilder:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self._consts = {}
        self._n = 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value, dtype):
        """A small constant initializer, shared between nodes."""
        arr = np.array(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.init("const_%d" % len(self._consts), arr)
        return self._consts[key]

    def op(self, op_type, inputs, name, **attrs):
        """Adds one node whose single output is called `name`."""
        self._n += 1
        self.nodes.append(helper.make_node(op_type, inputs, [name], name="%s_%d" % (op_type, self._n), **attrs))
        return name


def build_graph(w, cfg):
    g = GraphBuilder()
    H, NH, HD = cfg.hidden, cfg.heads, cfg.head_dim
    eps = float(np.float32(cfg.eps))
    f32, i64 = np.float32, np.int64

    def weight(name):
        return g.init(name, w[name])

    # Embeddings: (word + token_type) + position, then LayerNorm (the order BertEmbeddings uses).
    word = g.op("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"], "emb/word")
    ttype = g.op("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "emb/token_type")
    # position_ids[:, :seq_len] (a Gather over Range trips an ORT 1.31 fusion: "Starts must be a 1-D array").
    seq_len = g.op("Shape", ["input_ids"], "emb/seq_len", start=1, end=2)
    all_pos = g.init("embeddings.position_ids", np.arange(cfg.max_pos, dtype=i64)[None, :])
    pos_ids = g.op("Slice", [all_pos, g.const([0], i64), seq_len, g.const([1], i64)], "emb/position_ids")
    pos = g.op("Gather", [weight("embeddings.position_embeddings.weight"), pos_ids], "emb/position")
    x = g.op("Add", [word, ttype], "emb/add")
    x = g.op("Add", [x, pos], "emb/add_position")
    x = g.op(
        "LayerNormalization",
        [x, weight("embeddings.LayerNorm.weight"), weight("embeddings.LayerNorm.bias")],
        "emb/layernorm",
        axis=-1,
        epsilon=eps,
    )

    # Additive attention mask [batch, 1, 1, seq]: 0 where attention_mask != 0, float32 min elsewhere.
    keep = g.op("Cast", ["attention_mask"], "mask/bool", to=TensorProto.BOOL)
    keep = g.op("Unsqueeze", [keep, g.const([1, 2], i64)], "mask/unsqueeze")
    mask = g.op("Where", [keep, g.const(0.0, f32), g.const(np.finfo(np.float32).min, f32)], "mask/additive")

    split_heads = g.const([0, 0, NH, HD], i64)
    merge_heads = g.const([0, 0, H], i64)
    scale = g.const(1.0 / np.sqrt(HD), f32)
    sqrt2 = g.const(np.sqrt(2.0), f32)

    def linear(x, prefix, out):
        wt = g.init(prefix + ".weight_t", w[prefix + ".weight"].T)  # [in, out]
        y = g.op("MatMul", [x, wt], out + "/matmul")
        return g.op("Add", [weight(prefix + ".bias"), y], out)

    def layernorm(x, prefix, out):
        return g.op(
            "LayerNormalization",
            [x, weight(prefix + ".weight"), weight(prefix + ".bias")],
            out,
            axis=-1,
            epsilon=eps,
        )

    for layer in range(cfg.layers):
        p = "encoder.layer.%d." % layer
        n = "layer%d/" % layer
        q = linear(x, p + "attention.self.query", n + "q")
        k = linear(x, p + "attention.self.key", n + "k")
        v = linear(x, p + "attention.self.value", n + "v")
        q = g.op("Transpose", [g.op("Reshape", [q, split_heads], n + "q/heads")], n + "q/t", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, split_heads], n + "k/heads")], n + "k/t", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, split_heads], n + "v/heads")], n + "v/t", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k], n + "scores")
        s = g.op("Mul", [s, scale], n + "scores/scaled")
        s = g.op("Add", [s, mask], n + "scores/masked")
        pr = g.op("Softmax", [s], n + "probs", axis=-1)
        ctx = g.op("MatMul", [pr, v], n + "context")
        ctx = g.op("Transpose", [ctx], n + "context/t", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_heads], n + "context/merged")
        a = linear(ctx, p + "attention.output.dense", n + "attn_out")
        a = g.op("Add", [a, x], n + "attn_out/residual")
        x = layernorm(a, p + "attention.output.LayerNorm", n + "attn_out/layernorm")
        # GELU, erf form: x * (1 + erf(x / sqrt 2)) * 0.5
        hdn = linear(x, p + "intermediate.dense", n + "ffn_in")
        e = g.op("Erf", [g.op("Div", [hdn, sqrt2], n + "gelu/div")], n + "gelu/erf")
        e = g.op("Add", [e, g.const(1.0, f32)], n + "gelu/add")
        hdn = g.op("Mul", [hdn, e], n + "gelu/mul")
        hdn = g.op("Mul", [hdn, g.const(0.5, f32)], n + "gelu")
        o = linear(hdn, p + "output.dense", n + "ffn_out")
        o = g.op("Add", [o, x], n + "ffn_out/residual")
        x = layernorm(o, p + "output.LayerNorm", "last_hidden_state" if layer == cfg.layers - 1 else n + "out")

    dims = ["batch_size", "sequence_length"]
    graph = helper.make_graph(
        g.nodes,
        "bert",
        [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in ("input_ids", "attention_mask", "token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [H])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="quarry export-minilm-onnx.py")
    model.ir_version = IR_VERSION
    model.doc_string = (
        "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), BertModel without pooler;"
        " mean-pool last_hidden_state over attention_mask and L2-normalise"
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# --- checks --------------------------------------------------------------------


def reference_forward(w, cfg, ids, mask, types):
    """float64 numpy forward pass of BertModel (no pooler)."""
    W = {k: v.astype(np.float64) for k, v in w.items() if v.dtype == np.float32}
    B, S = ids.shape

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg.eps) * W[p + ".weight"] + W[p + ".bias"]

    def lin(x, p):
        return x @ W[p + ".weight"].T + W[p + ".bias"]

    from math import erf

    verf = np.vectorize(erf)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.token_type_embeddings.weight"][types]
    x = x + W["embeddings.position_embeddings.weight"][np.arange(S)]
    x = ln(x, "embeddings.LayerNorm")
    add_mask = np.where(mask[:, None, None, :] != 0, 0.0, -1e30)
    for layer in range(cfg.layers):
        p = "encoder.layer.%d." % layer

        def heads(t):
            return t.reshape(B, S, cfg.heads, cfg.head_dim).transpose(0, 2, 1, 3)

        q, k, v = (heads(lin(x, p + "attention.self." + m)) for m in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(cfg.head_dim) + add_mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B, S, cfg.hidden)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hdn = lin(x, p + "intermediate.dense")
        hdn = hdn * 0.5 * (1.0 + verf(hdn / np.sqrt(2.0)))
        x = ln(lin(hdn, p + "output.dense") + x, p + "output.LayerNorm")
    return x


def pool(hidden, mask):
    m = mask[..., None].astype(np.float64)
    v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# Token ids (tokenizer.json, uncased WordPiece, with [CLS] ... [SEP]) of four sentences.
SENTENCES = {
    "A man is eating food.": [101, 1037, 2158, 2003, 5983, 2833, 1012, 102],
    "A man is eating a piece of bread.": [101, 1037, 2158, 2003, 5983, 1037, 3538, 1997, 7852, 1012, 102],
    "The new movie is awesome.": [101, 1996, 2047, 3185, 2003, 12476, 1012, 102],
    "A man is riding a horse.": [101, 1037, 2158, 2003, 5559, 1037, 3586, 1012, 102],
}
# Cosine similarities of sentence-transformers/all-MiniLM-L6-v2 for the pairs below.
EXPECTED_COSINE = [
    ("A man is eating food.", "A man is eating a piece of bread.", 0.7553),
    ("A man is eating food.", "The new movie is awesome.", -0.0461),
    ("A man is eating food.", "A man is riding a horse.", 0.2474),
]


def batch(id_lists):
    S = max(len(t) for t in id_lists)
    ids = np.zeros((len(id_lists), S), np.int64)
    mask = np.zeros_like(ids)
    for i, t in enumerate(id_lists):
        ids[i, : len(t)] = t
        mask[i, : len(t)] = 1
    return ids, mask, np.zeros_like(ids)


def self_test(w, cfg, fp32_path, int8_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = min(4, os.cpu_count() or 1)
    so.log_severity_level = 3
    fp32 = ort.InferenceSession(fp32_path, so, providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(int8_path, so, providers=["CPUExecutionProvider"])

    def run(sess, ids, mask, types):
        return sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    names = list(SENTENCES)
    ids, mask, types = batch([SENTENCES[s] for s in names])

    # 1. fp32 graph == numpy float64 forward pass, on the non-padding tokens of a padded batch.
    got = run(fp32, ids, mask, types)
    want = reference_forward(w, cfg, ids, mask, types)
    if got.shape != (len(names), ids.shape[1], cfg.hidden):
        fail("self-test: model.onnx output has shape %s" % (got.shape,))
    diff = float(np.abs(got - want)[mask.astype(bool)].max())
    log("self-test: fp32 vs numpy float64 forward pass: max |diff| %.2e (limit 1e-4)" % diff)
    if not diff < 1e-4:
        fail("self-test: model.onnx disagrees with the numpy forward pass (max |diff| %.3g)" % diff)

    # 2. A sentence alone pools to the same vector as inside a padded batch.
    alone = pool(run(fp32, *batch([SENTENCES[names[0]]])), batch([SENTENCES[names[0]]])[1])
    emb = pool(got, mask)
    c = float(alone[0] @ emb[0])
    if not c > 0.99999:
        fail("self-test: padding changes the embedding (cosine %.6f)" % c)

    # 3. Known similarities of the original model.
    idx = {s: i for i, s in enumerate(names)}
    for a, b, expected in EXPECTED_COSINE:
        c = float(emb[idx[a]] @ emb[idx[b]])
        log("self-test: fp32 cosine(%r, %r) = %.4f (expected %.4f)" % (a, b, c, expected))
        if abs(c - expected) > 1e-3:
            fail("self-test: cosine %.4f, expected %.4f" % (c, expected))

    # 4. int8 embeddings stay close to fp32.
    emb8 = pool(run(int8, ids, mask, types), mask)
    cos = (emb8 * emb).sum(-1)
    log("self-test: int8 vs fp32 cosine: min %.4f, mean %.4f (limit 0.98)" % (cos.min(), cos.mean()))
    if not cos.min() > 0.98:
        fail("self-test: model_int8.onnx is too far from model.onnx (cosine %.4f)" % cos.min())


# --- main ----------------------------------------------------------------------


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: export-minilm-onnx.py MODEL_DIR OUT_DIR")
    model_dir, out_dir = sys.argv[1:3]
    os.makedirs(out_dir, exist_ok=True)
    fp32_path = os.path.join(out_dir, "model.onnx")
    int8_path = os.path.join(out_dir, "model_int8.onnx")

    cfg = Config(os.path.join(model_dir, "config.json"))
    log(
        "BERT: %d layers, hidden %d, %d heads, intermediate %d, vocab %d, eps %g"
        % (cfg.layers, cfg.hidden, cfg.heads, cfg.intermediate, cfg.vocab, cfg.eps)
    )
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    check_weights(w, cfg)

    log("building the fp32 graph ...")
    model = build_graph(w, cfg)
    onnx.save(model, fp32_path)
    log("wrote model.onnx (%.1f MB)" % (os.path.getsize(fp32_path) / 1e6))

    log("quantizing (dynamic, QInt8 weights, per channel) ...")
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # quiet its advice to pre-process the model first
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
    q = onnx.load(int8_path)
    n_int = sum(1 for nd in q.graph.node if nd.op_type == "MatMulInteger")
    if n_int != 6 * cfg.layers:
        fail("model_int8.onnx has %d MatMulInteger nodes, expected %d" % (n_int, 6 * cfg.layers))
    log("wrote model_int8.onnx (%.1f MB, %d MatMulInteger)" % (os.path.getsize(int8_path) / 1e6, n_int))

    self_test(w, cfg, fp32_path, int8_path)

    meta = {
        "name": MODEL_NAME,
        "dim": cfg.hidden,
        "pooling": "mean",
        "normalize": True,
        "max_length": MAX_LENGTH,
        "files": {"fp32": "model.onnx", "int8": "model_int8.onnx"},
    }
    with open(os.path.join(out_dir, "quarry-model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log("wrote quarry-model.json")


if __name__ == "__main__":
    main()
