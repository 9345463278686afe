#!/usr/bin/env python3
"""Writes the Hugging Face `pipeline()` reference fixtures that the ElectraPipelines tests check
(Tests/ElectraPipelinesTests/Fixtures/pipelines).

Layout:
  cases.json      a JSON list of {"name", "task", "model", "inputs", "kwargs", "output" | "error"}
  README.md       what is here and how each task was called
  <model>/        one HF folder per model as save_pretrained writes it (config.json,
                  model.safetensors, tokenizer.json, vocab.txt, tokenizer_config.json,
                  special_tokens_map.json)

The vocabulary is a small subset of the real BERT/ELECTRA uncased WordPiece vocab
(../shared/data/vocab/bert-base-uncased/vocab.txt), chosen so that every test text tokenizes
without [UNK] (except one deliberate emoji) and a few long words split into 2-4 pieces.
The tokenizer has model_max_length=64 (= max_position_embeddings), so long texts must be
truncated or split into windows. Weights are random and then perturbed (LayerNorm too) so that
no parameter sits at its initial value; the classification heads are scaled up and their biases
calibrated on the test texts (and the QA / MLM heads scaled) so that the outputs are varied. Each pipeline is built from the saved folder with
`transformers.pipeline(task, model=dir, tokenizer=dir, device=-1)`.

Run by hand in a venv with transformers 4.57 (scripts/reference/requirements.txt):
  ../venv/bin/python scripts/reference/make_pipeline_fixtures.py
"""
import json
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np
import torch
import transformers
from transformers import (ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining,
                          ElectraForQuestionAnswering, ElectraForSequenceClassification,
                          ElectraForTokenClassification, ElectraModel, ElectraTokenizerFast, pipeline)
from transformers.models.bert.tokenization_bert import BasicTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "Tests", "ElectraPipelinesTests", "Fixtures", "pipelines")
REAL_VOCAB = os.environ.get(
    "ELECTRA_REAL_VOCAB", os.path.join(HERE, "..", "..", "..", "shared", "data", "vocab", "bert-base-uncased", "vocab.txt"))
assert transformers.__version__.startswith("4.57"), "pin transformers 4.57 (pipeline behaviour)"
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()

MAX_LEN = 64

# ---------------------------------------------------------------------------------------------
# Texts
EN1 = "My name is Wolfgang and I live in Berlin"
EN2 = "Hugging Face is based in New York City and Paris"
ACC = "José Martínez visitó São Paulo y Zürich"
CJK = "東京 is in Japan"
PUNCT = "Hello, world! Isn't tokenization fun? I do not know... (Yes: it's great 🙂.)"
LONG = ("George Washington was born in Virginia, and Angela Merkel grew up near Hamburg. "
        "Later, Wolfgang Amadeus Mozart travelled from Salzburg to Vienna, Prague and Paris, "
        "while Marie Curie worked in Warsaw and Paris. Today Hugging Face has offices in New York "
        "City and Paris, and its tokenization library is used by researchers at Stanford University "
        "and Oxford. José Martínez visitó São Paulo y Zürich, then flew to 東京 in Japan with "
        "Emmanuel Macron and Olaf Scholz. In May they all met Wolfgang in Berlin.")
NEG = "This movie was terrible and boring."
POS = "What a wonderful, great day in Paris!"
QA1 = ("Where do I live?", EN1)
QA2 = ("Who founded the company?",
       "Hugging Face was founded by Clément Delangue and Julien Chaumond in New York City.")
QA_ACC = ("¿Dónde vive José?", "José Martínez vive en São Paulo, pero visitó Zürich en 2019.")
QA_LONG = ("Where did Marie Curie work?", LONG)
MLM1 = "My name is Wolfgang and I live in [MASK]."
MLM2 = "The capital of France is [MASK]."
MLM_TWO = "[MASK] is based in New York City and [MASK]."
RR_QUERY = "Where does Wolfgang live?"
RR_TEXTS = [EN1, EN2, ACC, "Berlin is the capital of Germany."]
ALL_TEXTS = [EN1, EN2, ACC, CJK, PUNCT, LONG, NEG, POS, *QA1, *QA2, *QA_ACC, *QA_LONG,
             MLM1, MLM2, MLM_TWO, RR_QUERY, *RR_TEXTS, "Berlin Paris the"]
# Whole words kept out of the vocabulary so that they split into several ## pieces.
LEFT_OUT = ["washington", "wolfgang", "tokenization", "zurich", "martinez", "hamburg", "salzburg",
            "merkel", "chaumond", "delangue", "researchers", "travelled", "amadeus"]
NOT_IN_VOCAB = {"🙂"}  # one deliberate [UNK]
EXTRA_CJK = ["日", "本", "大", "阪", "人"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def build_vocab():
    with open(REAL_VOCAB, encoding="utf-8") as f:
        real = [line.rstrip("\n") for line in f]
    real_set = set(real)
    basic = BasicTokenizer(do_lower_case=True)
    words, chars = [], []
    for text in ALL_TEXTS:
        for w in basic.tokenize(text.replace("[MASK]", " ")):
            if w not in words:
                words.append(w)
            for c in w:
                if c not in chars and c not in NOT_IN_VOCAB:
                    chars.append(c)
    assert all(w in words for w in LEFT_OUT), [w for w in LEFT_OUT if w not in words]
    reduced = real_set - set(LEFT_OUT)
    pieces = []
    for w in words:
        if set(w) & NOT_IN_VOCAB:
            continue
        ps = wordpiece(w, reduced)
        if w in LEFT_OUT:
            assert 2 <= len(ps) <= 4 and "[UNK]" not in ps, (w, ps)
        assert "[UNK]" not in ps, (w, ps)
        for p in ps:
            if p not in pieces:
                pieces.append(p)
    vocab = list(SPECIALS)
    for c in chars + EXTRA_CJK:
        for t in (c, "##" + c):
            if t not in vocab:
                vocab.append(t)
    for p in pieces:
        if p not in vocab:
            vocab.append(p)
    for w in LEFT_OUT:
        assert w not in vocab
    return vocab


# ---------------------------------------------------------------------------------------------
# Models
def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.15 * noise)


def small_config(vocab_size, **extra):
    return ElectraConfig(vocab_size=vocab_size, embedding_size=16, hidden_size=24, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=48, max_position_embeddings=MAX_LEN, **extra)


def write_model(name, cls, config, seed, tok_dir, tweak=None):
    out = os.path.join(ROOT, name)
    shutil.rmtree(out, ignore_errors=True)
    torch.manual_seed(seed)
    model = cls(config).eval()
    perturb(model, seed + 1)
    if tweak is not None:
        with torch.no_grad():
            tweak(model, torch.Generator().manual_seed(seed + 2))
    model.save_pretrained(out, safe_serialization=True)
    ElectraTokenizerFast.from_pretrained(tok_dir).save_pretrained(out)
    return out


def plain(x):
    """Pipeline output -> plain JSON (numpy scalars to Python numbers, tuples to lists)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, torch.Tensor):
        return plain(x.tolist())
    return x


CASES = []


def record(name, task, model, inputs, kwargs, call):
    assert name not in {c["name"] for c in CASES}, name
    case = {"name": name, "task": task, "model": model, "inputs": inputs, "kwargs": kwargs}
    try:
        case["output"] = plain(call())
    except Exception as e:  # recorded: the Swift side should refuse the same call
        case["error"] = f"{type(e).__name__}: {e}"
    CASES.append(case)
    shown = case.get("output", case.get("error"))
    text = json.dumps(shown, ensure_ascii=False)
    print(f"  {name}: {text[:300]}{'...' if len(text) > 300 else ''}")
    return case


def pipe(task, name):
    d = os.path.join(ROOT, name)
    return pipeline(task, model=d, tokenizer=d, device=-1)


# ---------------------------------------------------------------------------------------------
def text_classification(vocab_size, tok):
    print("text-classification")
    write_model("seqcls-3", ElectraForSequenceClassification,
                small_config(vocab_size, num_labels=3, id2label={0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"},
                             label2id={"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2}), 100, tok,
                tweak=calibrate(lambda m: m.classifier.out_proj, SEQ_TEXTS, [1 / 3] * 3, tok, 6.0))
    p = pipe("text-classification", "seqcls-3")
    record("seqcls3_single", "text-classification", "seqcls-3", EN1, {}, lambda: p(EN1))
    record("seqcls3_top_k_2", "text-classification", "seqcls-3", POS, {"top_k": 2}, lambda: p(POS, top_k=2))
    record("seqcls3_top_k_none", "text-classification", "seqcls-3", NEG, {"top_k": None}, lambda: p(NEG, top_k=None))
    batch = [EN1, NEG, ACC]
    record("seqcls3_list", "text-classification", "seqcls-3", batch, {}, lambda: p(batch))
    record("seqcls3_list_top_k_none", "text-classification", "seqcls-3", batch[:2], {"top_k": None},
           lambda: p(batch[:2], top_k=None))
    pair = {"text": QA1[0], "text_pair": QA1[1]}
    record("seqcls3_pair", "text-classification", "seqcls-3", pair, {}, lambda: p(pair))
    for fn in ("sigmoid", "none", "softmax"):
        record(f"seqcls3_function_{fn}", "text-classification", "seqcls-3", POS,
               {"function_to_apply": fn, "top_k": None}, lambda: p(POS, function_to_apply=fn, top_k=None))
    record("seqcls3_long_no_truncation", "text-classification", "seqcls-3", LONG, {}, lambda: p(LONG))
    record("seqcls3_long_truncation", "text-classification", "seqcls-3", LONG, {"truncation": True},
           lambda: p(LONG, truncation=True))

    write_model("seqcls-1", ElectraForSequenceClassification, small_config(vocab_size, num_labels=1), 110, tok)
    p = pipe("text-classification", "seqcls-1")
    record("seqcls1_single", "text-classification", "seqcls-1", EN2, {}, lambda: p(EN2))

    names = {0: "sports", 1: "politics", 2: "travel", 3: "science"}
    write_model("seqcls-multilabel", ElectraForSequenceClassification,
                small_config(vocab_size, num_labels=4, problem_type="multi_label_classification", id2label=names,
                             label2id={v: k for k, v in names.items()}), 120, tok,
                tweak=calibrate(lambda m: m.classifier.out_proj, SEQ_TEXTS, [.25] * 4, tok, 6.0))
    p = pipe("text-classification", "seqcls-multilabel")
    record("multilabel_top_k_none", "text-classification", "seqcls-multilabel", EN2, {"top_k": None},
           lambda: p(EN2, top_k=None))
    record("multilabel_single", "text-classification", "seqcls-multilabel", EN2, {}, lambda: p(EN2))

    write_model("seqcls-regression", ElectraForSequenceClassification,
                small_config(vocab_size, num_labels=1, problem_type="regression"), 130, tok,
                tweak=lambda m, g: m.classifier.out_proj.bias.fill_(2.5))
    p = pipe("text-classification", "seqcls-regression")
    record("regression_single", "text-classification", "seqcls-regression", NEG, {}, lambda: p(NEG))


BIO = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


def calibrate(head, texts, target, tok_dir, scale):
    """Scales a linear head up, then sets its bias so that the mean softmax over the tokens (or
    texts) of `texts` matches `target`: random weights otherwise give one label nearly everywhere."""
    tok = ElectraTokenizerFast.from_pretrained(tok_dir)

    def tweak(model, g):
        layer = head(model)
        layer.weight.mul_(scale)
        layer.bias.zero_()
        logits = []
        for t in texts:
            enc = tok(*(t if isinstance(t, tuple) else (t,)), return_tensors="pt", truncation=True)
            out = model(**enc).logits[0]
            logits.append(out[1:-1] if out.dim() == 2 else out[None])
        L = torch.cat(logits)
        b = torch.zeros(L.shape[-1])
        for _ in range(2000):
            b += 0.5 * (torch.tensor(target) - torch.softmax(L + b, -1).mean(0))
        layer.bias.copy_(b - b.mean())
    return tweak


def summarize_ner(p):
    """Prints the raw tags and counts what makes the aggregation strategies differ."""
    counts, mixed, adjacent_b, b_then_i = {}, 0, 0, 0
    for text in NER_TEXTS:
        out = p(text, ignore_labels=[])
        print("   ", " ".join(f"{o['word']}/{o['entity']}" for o in out)[:200])
        for o in out:
            counts[o["entity"]] = counts.get(o["entity"], 0) + 1
        for a, b in zip(out, out[1:]):
            mixed += b["word"].startswith("##") and a["entity"] != b["entity"]
            adjacent_b += a["entity"].startswith("B-") and b["entity"] == a["entity"]
            b_then_i += a["entity"] != "O" and b["entity"] == "I-" + a["entity"][2:]
    print(f"   tags {dict(sorted(counts.items()))}; subword tag changes {mixed}, "
          f"B-X B-X pairs {adjacent_b}, X I-X pairs {b_then_i}")
    assert mixed >= 5 and adjacent_b >= 2 and b_then_i >= 2 and len(counts) == len(BIO)


def token_classification(vocab_size, tok):
    print("token-classification")
    write_model("ner-bio", ElectraForTokenClassification,
                small_config(vocab_size, num_labels=len(BIO), id2label=dict(enumerate(BIO)),
                             label2id={l: i for i, l in enumerate(BIO)}), 310, tok,
                tweak=calibrate(lambda m: m.classifier, NER_TEXTS, [.35, .1, .08, .1, .08, .08, .07, .07, .07], tok, 6.0))
    p = pipe("token-classification", "ner-bio")
    summarize_ner(p)
    texts = {"en1": EN1, "en2": EN2, "acc": ACC, "cjk": CJK, "punct": PUNCT, "long": LONG}
    for strategy in ("none", "simple", "first", "average", "max"):
        for key, text in texts.items():
            record(f"ner_{strategy}_{key}", "token-classification", "ner-bio", text,
                   {"aggregation_strategy": strategy}, lambda: p(text, aggregation_strategy=strategy))
    record("ner_simple_ignore_nothing", "token-classification", "ner-bio", EN1,
           {"aggregation_strategy": "simple", "ignore_labels": []},
           lambda: p(EN1, aggregation_strategy="simple", ignore_labels=[]))
    record("ner_none_ignore_o_bper", "token-classification", "ner-bio", EN2,
           {"aggregation_strategy": "none", "ignore_labels": ["O", "B-PER"]},
           lambda: p(EN2, aggregation_strategy="none", ignore_labels=["O", "B-PER"]))
    record("ner_first_ignore_nothing_long", "token-classification", "ner-bio", LONG,
           {"aggregation_strategy": "first", "ignore_labels": []},
           lambda: p(LONG, aggregation_strategy="first", ignore_labels=[]))
    record("ner_default_kwargs", "token-classification", "ner-bio", EN1, {}, lambda: p(EN1))
    batch = [EN1, CJK]
    record("ner_simple_list", "token-classification", "ner-bio", batch, {"aggregation_strategy": "simple"},
           lambda: p(batch, aggregation_strategy="simple"))
    for strategy in ("none", "simple", "first", "average", "max"):
        record(f"ner_{strategy}_long_stride16", "token-classification", "ner-bio", LONG,
               {"aggregation_strategy": strategy, "stride": 16},
               lambda: p(LONG, aggregation_strategy=strategy, stride=16))
    record("ner_simple_long_stride16_ignore_nothing", "token-classification", "ner-bio", LONG,
           {"aggregation_strategy": "simple", "stride": 16, "ignore_labels": []},
           lambda: p(LONG, aggregation_strategy="simple", stride=16, ignore_labels=[]))

    for name, cfg, seed in (("ner-plain", dict(id2label={0: "O", 1: "PER", 2: "LOC"},
                                                label2id={"O": 0, "PER": 1, "LOC": 2}), 210),
                            ("ner-label", {}, 220)):
        write_model(name, ElectraForTokenClassification, small_config(vocab_size, num_labels=3, **cfg), seed, tok,
                    tweak=calibrate(lambda m: m.classifier, NER_TEXTS, [.4, .3, .3], tok, 6.0))
        p = pipe("token-classification", name)
        key = name.replace("-", "_")
        for strategy in ("simple", "none", "first"):
            for tkey, text in (("en1", EN1), ("en2", EN2)):
                record(f"{key}_{strategy}_{tkey}", "token-classification", name, text,
                       {"aggregation_strategy": strategy}, lambda: p(text, aggregation_strategy=strategy))
        record(f"{key}_simple_ignore_nothing", "token-classification", name, ACC,
               {"aggregation_strategy": "simple", "ignore_labels": []},
               lambda: p(ACC, aggregation_strategy="simple", ignore_labels=[]))


def question_answering(vocab_size, tok):
    print("question-answering")
    write_model("qa", ElectraForQuestionAnswering, small_config(vocab_size), QA_SEED, tok,
                tweak=lambda m, g: m.qa_outputs.weight.mul_(5.0))
    p = pipe("question-answering", "qa")

    def qa_case(name, q, c, kwargs):
        record(name, "question-answering", "qa", {"question": q, "context": c}, kwargs,
               lambda: p(question=q, context=c, **kwargs))

    qa_case("qa_single", *QA1, {})
    qa_case("qa_top_k_3", *QA2, {"top_k": 3})
    qa_case("qa_max_answer_len_3", *QA2, {"max_answer_len": 3, "top_k": 2})
    qa_case("qa_max_answer_len_1", *QA1, {"max_answer_len": 1})
    qa_case("qa_impossible", *QA1, {"handle_impossible_answer": True})
    qa_case("qa_impossible_top_k_3", *QA2, {"handle_impossible_answer": True, "top_k": 3})
    qa_case("qa_impossible_top_k_10", *QA1, {"handle_impossible_answer": True, "top_k": 10})
    qa_case("qa_long_windows", *QA_LONG, {"max_seq_len": 48, "doc_stride": 16, "top_k": 2})
    qa_case("qa_long_windows_top_k_5", *QA_LONG, {"max_seq_len": 48, "doc_stride": 16, "top_k": 5})
    qa_case("qa_long_default", *QA_LONG, {"top_k": 2})
    qa_case("qa_accented", *QA_ACC, {"top_k": 2})
    qa_case("qa_no_align", *QA2, {"align_to_words": False, "top_k": 3})
    qs, cs = [QA1[0], QA2[0]], [QA1[1], QA2[1]]
    record("qa_list", "question-answering", "qa", {"question": qs, "context": cs}, {},
           lambda: p(question=qs, context=cs))
    record("qa_list_top_k_2", "question-answering", "qa", {"question": qs, "context": cs}, {"top_k": 2},
           lambda: p(question=qs, context=cs, top_k=2))


def fill_mask(vocab_size, tok):
    print("fill-mask")
    write_model("mlm", ElectraForMaskedLM, small_config(vocab_size), 400, tok,
                tweak=lambda m, g: m.generator_lm_head.bias.mul_(20.0))
    p = pipe("fill-mask", "mlm")
    record("mlm_single", "fill-mask", "mlm", MLM1, {}, lambda: p(MLM1))
    record("mlm_top_k_3", "fill-mask", "mlm", MLM2, {"top_k": 3}, lambda: p(MLM2, top_k=3))
    targets = ["berlin", "paris", "the"]
    record("mlm_targets", "fill-mask", "mlm", MLM1, {"targets": targets}, lambda: p(MLM1, targets=targets))
    record("mlm_targets_top_k_2", "fill-mask", "mlm", MLM1, {"targets": targets, "top_k": 2},
           lambda: p(MLM1, targets=targets, top_k=2))
    record("mlm_two_masks", "fill-mask", "mlm", MLM_TWO, {"top_k": 2}, lambda: p(MLM_TWO, top_k=2))
    batch = [MLM1, MLM2]
    record("mlm_list", "fill-mask", "mlm", batch, {"top_k": 2}, lambda: p(batch, top_k=2))
    record("mlm_list_default", "fill-mask", "mlm", batch, {}, lambda: p(batch))


def feature_extraction(vocab_size, tok):
    print("feature-extraction")
    write_model("base", ElectraModel, small_config(vocab_size), 500, tok)
    p = pipe("feature-extraction", "base")
    record("features_single", "feature-extraction", "base", CJK, {}, lambda: p(CJK))
    record("features_long_truncation", "feature-extraction", "base", LONG, {"tokenize_kwargs": {"truncation": True}},
           lambda: p(LONG, tokenize_kwargs={"truncation": True}))
    record("features_long_no_truncation", "feature-extraction", "base", LONG, {}, lambda: p(LONG))


def raw_references(vocab_size, tok):
    print("raw references")
    d = write_model("pretraining", ElectraForPreTraining, small_config(vocab_size), 600, tok)
    model = ElectraForPreTraining.from_pretrained(d).eval()
    tk = ElectraTokenizerFast.from_pretrained(d)
    for key, text in (("en2", EN2), ("acc", ACC)):
        enc = tk(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        record(f"rtd_{key}", "replaced-token-detection", "pretraining", text, {},
               lambda: {"input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist()})

    d = write_model("reranker", ElectraForSequenceClassification, small_config(vocab_size, num_labels=1), 700, tok,
                    tweak=lambda m, g: m.classifier.out_proj.weight.mul_(4.0))
    model = ElectraForSequenceClassification.from_pretrained(d).eval()
    tk = ElectraTokenizerFast.from_pretrained(d)
    logits = []
    for t in RR_TEXTS:
        enc = tk(RR_QUERY, t, return_tensors="pt")
        with torch.no_grad():
            logits.append(model(**enc).logits[0, 0])
    logits = torch.stack(logits)
    record("rerank_four", "rerank", "reranker", {"query": RR_QUERY, "texts": RR_TEXTS}, {},
           lambda: {"scores": torch.sigmoid(logits).tolist(), "logits": logits.tolist()})


QA_SEED = 350
NER_TEXTS = [EN1, EN2, ACC, CJK, PUNCT, LONG]
SEQ_TEXTS = [EN1, EN2, ACC, CJK, PUNCT, NEG, POS, (QA1[0], QA1[1]), RR_QUERY]


README = """# Hugging Face pipeline references

Written by `scripts/reference/make_pipeline_fixtures.py` (run by hand:
`../venv/bin/python scripts/reference/make_pipeline_fixtures.py`, transformers {tf}, torch {torch}).

Each folder is a tiny random ELECTRA model (perturbed weights, E=16, H=24, FFN 48, 2 layers, 2 heads,
max_position_embeddings=64) plus its WordPiece tokenizer ({vocab} entries cut from the real
uncased vocab; lower-casing, accent stripping, CJK split per character; `model_max_length` 64),
saved with `save_pretrained`. `cases.json` lists
`{{"name", "task", "model", "inputs", "kwargs", "output"}}`; `"error"` (exception type and
message) replaces `"output"` where HF refused the call. Outputs are stored as HF returned them
(float32 values widened to double, nothing rounded).

How each task was called (`dir` = the model folder):
- pipelines were built as `pipeline(task, model=dir, tokenizer=dir, device=-1)`.
- `text-classification`, `token-classification`, `fill-mask`, `feature-extraction`:
  `pipe(inputs, **kwargs)`; a text pair is the dict `{{"text": a, "text_pair": b}}`.
- `question-answering`: `pipe(question=inputs["question"], context=inputs["context"], **kwargs)`
  (both strings, or both lists).
- `replaced-token-detection` (model `pretraining`, no HF pipeline): `tokenizer(text)` with
  [CLS]/[SEP], no padding; output `input_ids` and the discriminator `logits`.
- `rerank` (model `reranker`, no HF pipeline): each `tokenizer(query, text)` pair alone;
  output `logits` and `scores` = sigmoid(logits), in input order.

Recorded refusals: text-classification / feature-extraction of the 116-token text without
`truncation` (position embeddings overflow), and token-classification with `stride` and
aggregation "none". Token classification of the long text without `stride` truncates to 64
tokens (the pipeline always passes `truncation=True` with `model_max_length`).
"""


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    vocab = build_vocab()
    tmp = tempfile.mkdtemp()
    try:
        with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
        tok = ElectraTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True,
                                   model_max_length=MAX_LEN)
        tok_dir = os.path.join(tmp, "tok")
        tok.save_pretrained(tok_dir)
        print(f"vocab: {len(vocab)} entries")
        for text in ALL_TEXTS[:6]:
            print("  ", len(tok(text)["input_ids"]), tok.tokenize(text))
        for w in LEFT_OUT:
            print(f"   {w} -> {tok.tokenize(w)}")
        text_classification(len(vocab), tok_dir)
        token_classification(len(vocab), tok_dir)
        question_answering(len(vocab), tok_dir)
        fill_mask(len(vocab), tok_dir)
        feature_extraction(len(vocab), tok_dir)
        raw_references(len(vocab), tok_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(ROOT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(CASES, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(ROOT, "README.md"), "w") as f:
        f.write(README.format(tf=transformers.__version__, torch=torch.__version__.split("+")[0], vocab=len(vocab)))
    print(f"{len(CASES)} cases, {sum('error' in c for c in CASES)} errors")


if __name__ == "__main__":
    sys.exit(main())
