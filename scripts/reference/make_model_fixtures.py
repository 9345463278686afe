#!/usr/bin/env python3
"""Writes the model parity fixtures that `swift test` checks (Tests/ElectraTests/Fixtures/models).

Each case is a folder:
  model/            config.json + model.safetensors as HF save_pretrained writes them
  inputs.safetensors    input_ids, attention_mask, token_type_ids, labels, ... (I64 / F32)
  expected.safetensors  HF outputs under the names `electra infer` uses (loss, logits, ...,
                        hidden_states.N, attentions.N)
Weights are random and then perturbed (LayerNorm too) so that no parameter sits at its
initial value. Run by hand in a venv with scripts/reference/requirements.txt:
  ../venv/bin/python scripts/reference/make_model_fixtures.py
"""
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import (ElectraConfig, ElectraForMaskedLM, ElectraForMultipleChoice,
                          ElectraForPreTraining, ElectraForQuestionAnswering,
                          ElectraForSequenceClassification, ElectraForTokenClassification,
                          ElectraModel)

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "models")
assert transformers.__version__.startswith("4.57"), "pin transformers 4.57 (relative positions)"


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


def batch(b, l, vocab, seed, lengths, type_split=True, choices=None):
    g = torch.Generator().manual_seed(seed)
    shape = (b, choices, l) if choices else (b, l)
    ids = torch.randint(0, vocab, shape, generator=g)
    mask = torch.zeros(shape, dtype=torch.long)
    types = torch.zeros(shape, dtype=torch.long)
    flat_ids, flat_mask, flat_types = ids.view(-1, l), mask.view(-1, l), types.view(-1, l)
    for i in range(flat_ids.shape[0]):
        n = lengths[i % len(lengths)]
        flat_mask[i, :n] = 1
        flat_ids[i, n:] = 0
        if type_split:
            flat_types[i, n // 2:n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def write_case(name, cls, cfg, inputs, seed=0):
    out = os.path.join(ROOT, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    torch.manual_seed(seed)
    config = ElectraConfig(**cfg)
    model = cls(config).eval()
    perturb(model, seed + 1)
    model.save_pretrained(os.path.join(out, "model"), safe_serialization=True)
    model = cls.from_pretrained(os.path.join(out, "model"), attn_implementation="eager").eval()
    with torch.no_grad():
        res = model(**inputs, output_hidden_states=True, output_attentions=True, return_dict=True)
    expected = {}
    for key in ("loss", "logits", "start_logits", "end_logits", "last_hidden_state"):
        v = getattr(res, key, None)
        if v is not None:
            expected[key] = v.reshape(1) if key == "loss" else v
    for i, h in enumerate(res.hidden_states or ()):
        expected[f"hidden_states.{i}"] = h
    for i, a in enumerate(res.attentions or ()):
        expected[f"attentions.{i}"] = a
    save_file({k: v.detach().float().clone().contiguous() for k, v in expected.items()}, os.path.join(out, "expected.safetensors"))
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(out, "inputs.safetensors"))
    print(f"{name}: {cls.__name__}, outputs {sorted(expected)}")
    return model


def variants_of_base(name, model):
    """The same weights as F16, BF16 and sharded files; expected outputs from the rounded weights."""
    src = os.path.join(ROOT, name)
    inputs = {k: v for k, v in __import__("safetensors.torch", fromlist=["load_file"]).load_file(os.path.join(src, "inputs.safetensors")).items()}
    for dtype, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
        out = os.path.join(ROOT, f"{name}_{tag}")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.join(out, "model"))
        shutil.copy(os.path.join(src, "model", "config.json"), os.path.join(out, "model", "config.json"))
        sd = {k: v.to(dtype).contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(out, "model", "model.safetensors"), metadata={"format": "pt"})
        rounded = ElectraModel.from_pretrained(os.path.join(out, "model"), torch_dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            res = rounded(**inputs, return_dict=True)
        save_file({"last_hidden_state": res.last_hidden_state.contiguous()}, os.path.join(out, "expected.safetensors"))
        shutil.copy(os.path.join(src, "inputs.safetensors"), os.path.join(out, "inputs.safetensors"))
        print(f"{name}_{tag}: weights stored as {dtype}")
    out = os.path.join(ROOT, f"{name}_sharded")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    model.save_pretrained(os.path.join(out, "model"), safe_serialization=True, max_shard_size="20KB")
    for f in ("inputs.safetensors", "expected.safetensors"):
        shutil.copy(os.path.join(src, f), os.path.join(out, f))
    print(f"{name}_sharded: {len(os.listdir(os.path.join(out, 'model')))} files")


def main():
    os.makedirs(ROOT, exist_ok=True)
    small = dict(vocab_size=97, max_position_embeddings=24, type_vocab_size=2, num_hidden_layers=2,
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)

    # ElectraModel, E != H (embeddings_project), odd FFN width, gelu, padded batch.
    b = batch(3, 7, 97, 10, lengths=[7, 4, 1])
    base = write_case("base_gelu_e16_h32", ElectraModel,
                      dict(small, embedding_size=16, hidden_size=32, num_attention_heads=4, intermediate_size=37, hidden_act="gelu"), b)
    variants_of_base("base_gelu_e16_h32", base)

    # Discriminator, E == H, head_dim 6 (not a SIMD multiple), relu, with labels.
    b = batch(2, 9, 97, 11, lengths=[9, 5])
    b["labels"] = torch.randint(0, 2, (2, 9), generator=torch.Generator().manual_seed(12))
    write_case("pretraining_relu_e30_h30", ElectraForPreTraining,
               dict(small, embedding_size=30, hidden_size=30, num_attention_heads=5, intermediate_size=44, hidden_act="relu"), b)

    # Generator: tied lm head (absent from the file), gelu_new backbone, -100 labels.
    b = batch(2, 8, 97, 13, lengths=[8, 6])
    lab = torch.full((2, 8), -100)
    lab[0, 1], lab[0, 5], lab[1, 2] = 5, 17, 96
    b["labels"] = lab
    write_case("maskedlm_gelu_new_e16_h32", ElectraForMaskedLM,
               dict(small, embedding_size=16, hidden_size=32, num_attention_heads=2, intermediate_size=64, hidden_act="gelu_new"), b)

    # Sequence classification: single-label (silu), regression, multi-label.
    b = batch(3, 6, 97, 14, lengths=[6, 3, 5])
    b["labels"] = torch.tensor([2, 0, 1])
    write_case("seqcls_single_silu", ElectraForSequenceClassification,
               dict(small, embedding_size=24, hidden_size=32, num_attention_heads=4, intermediate_size=48, hidden_act="silu", num_labels=3), b)
    b = batch(3, 6, 97, 15, lengths=[6, 2, 4])
    b["labels"] = torch.tensor([0.5, -1.25, 2.0])
    write_case("seqcls_regression", ElectraForSequenceClassification,
               dict(small, embedding_size=32, hidden_size=32, num_attention_heads=2, intermediate_size=40, num_labels=1), b)
    b = batch(2, 6, 97, 16, lengths=[6, 4])
    b["labels"] = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    write_case("seqcls_multilabel", ElectraForSequenceClassification,
               dict(small, embedding_size=32, hidden_size=32, num_attention_heads=4, intermediate_size=40, num_labels=4), b)

    # Token classification with relative_key positions.
    b = batch(2, 10, 97, 17, lengths=[10, 7])
    lab = torch.randint(0, 5, (2, 10), generator=torch.Generator().manual_seed(18))
    lab[1, 7:] = -100
    lab[0, 0] = -100
    b["labels"] = lab
    write_case("tokencls_relative_key", ElectraForTokenClassification,
               dict(small, embedding_size=16, hidden_size=32, num_attention_heads=4, intermediate_size=40, num_labels=5,
                    position_embedding_type="relative_key"), b)

    # QA with relative_key_query; one end position past the sequence (clamped, ignored).
    b = batch(3, 11, 97, 19, lengths=[11, 8, 5])
    b["start_positions"] = torch.tensor([3, 0, 2])
    b["end_positions"] = torch.tensor([5, 40, 4])
    write_case("qa_relative_key_query", ElectraForQuestionAnswering,
               dict(small, embedding_size=16, hidden_size=24, num_attention_heads=3, intermediate_size=40,
                    position_embedding_type="relative_key_query", hidden_act="gelu"), b)

    # Multiple choice with each summary type.
    for st in ("first", "last", "mean"):
        b = batch(2, 7, 97, 20, lengths=[7, 5, 3], choices=3)
        b["labels"] = torch.tensor([1, 2])
        write_case(f"multiplechoice_{st}", ElectraForMultipleChoice,
                   dict(small, embedding_size=16, hidden_size=32, num_attention_heads=4, intermediate_size=40, summary_type=st), b)

    counts = {n: sum(p.numel() for p in ElectraModel(ElectraConfig(**c)).parameters())
              for n, c in {"small": {}, "base": dict(embedding_size=768, hidden_size=768, num_attention_heads=12, intermediate_size=3072)}.items()}
    with open(os.path.join(ROOT, "parameter_counts.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
    with open(os.path.join(ROOT, "VERSIONS"), "w") as f:
        f.write(f"torch {torch.__version__}\ntransformers {transformers.__version__}\n")
    print("parameter counts", counts)


if __name__ == "__main__":
    sys.exit(main())
