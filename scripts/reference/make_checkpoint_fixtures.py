#!/usr/bin/env python3
"""Writes the checkpoint-interop fixtures that `swift test` checks
(Tests/ElectraTests/Fixtures/checkpoints/formats).

Two tiny random models (perturbed so no weight sits at its initial value):
  disc: ElectraForPreTraining (E 16, H 32), gen: ElectraForMaskedLM (E 16, H 24)
each saved by transformers 4.57 in every format HF ships, one folder per format:
  <model>/safetensors/  config.json + model.safetensors (the reference)
  <model>/pytorch/      pytorch_model.bin (torch.save zip)
  <model>/pytorch_sharded/  pytorch_model-0000K-of-0000N.bin + pytorch_model.bin.index.json (disc)
  <model>/flax/         flax_model.msgpack (FlaxElectra*)
  <model>/tf2/          tf_model.h5 (TFElectra*, Keras h5)
  <model>/inputs.safetensors, <model>/expected.safetensors  (PyTorch logits)
and one Google Research TF1 checkpoint holding both towers under their original variable
names (electra/..., generator/..., *_predictions/..., Adam slots, global_step):
  tf1/model.ckpt-7.{index,data-00000-of-00001} + tf1/checkpoint
  tf1/disc_config.json, tf1/gen_config.json
  tf1/hf_discriminator.safetensors, tf1/hf_generator.safetensors: what HF's own converter
  (load_tf_weights_in_electra) makes of it, the reference for `electra convert --tf-checkpoint`.
Run by hand in a venv with scripts/reference/requirements.txt (+ tensorflow, tf-keras, flax):
  ../venv/bin/python scripts/reference/make_checkpoint_fixtures.py
"""
import json
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # HF's TF classes need Keras 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import (ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining,
                          FlaxElectraForMaskedLM, FlaxElectraForPreTraining,
                          TFElectraForMaskedLM, TFElectraForPreTraining)
from transformers.models.electra.modeling_electra import load_tf_weights_in_electra

from make_model_fixtures import perturb  # the same weight perturbation as the parity fixtures

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "checkpoints", "formats")
assert transformers.__version__.startswith("4.57"), "pin transformers 4.57 (TF and Flax classes)"

DISC = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=40)
GEN = dict(DISC, hidden_size=24, num_attention_heads=2, intermediate_size=29)


def inputs():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(1, 99, (2, 7), generator=g)
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    ids[1, 5:] = 0
    types = torch.zeros(2, 7, dtype=torch.long)
    types[:, 4:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_formats(name, pt_cls, tf_cls, flax_cls, model):
    base = fresh(os.path.join(ROOT, name))
    ref = os.path.join(base, "safetensors")
    model.save_pretrained(ref, safe_serialization=True)
    model.save_pretrained(os.path.join(base, "pytorch"), safe_serialization=False)
    if name == "disc":
        model.save_pretrained(os.path.join(base, "pytorch_sharded"), safe_serialization=False, max_shard_size="40KB")
    flax = flax_cls.from_pretrained(ref, from_pt=True)
    flax.save_pretrained(os.path.join(base, "flax"))
    tf = tf_cls.from_pretrained(ref, from_pt=True)
    tf.save_pretrained(os.path.join(base, "tf2"))
    x = inputs()
    save_file({k: v.contiguous() for k, v in x.items()}, os.path.join(base, "inputs.safetensors"))
    with torch.no_grad():
        out = model(**x)
    save_file({"logits": out.logits.contiguous()}, os.path.join(base, "expected.safetensors"))
    # The other frameworks' own outputs: how far they are from PyTorch bounds what "the same
    # numbers" can mean for a converted file.
    tf_logits = tf(**{k: v.numpy() for k, v in x.items()}).logits.numpy()
    flax_logits = np.asarray(flax(**{k: v.numpy() for k, v in x.items()}).logits)
    print(name, "max |tf - torch|", np.abs(tf_logits - out.logits.numpy()).max(),
          "max |flax - torch|", np.abs(flax_logits - out.logits.numpy()).max())


def tf1_name(hf, tower):
    """HF name -> Google Research variable name (the inverse of HF's converter)."""
    n = hf
    if n == "generator_lm_head.bias":
        return "generator_predictions/output_bias"
    if tower == "generator" and n.startswith("electra.") and not n.startswith("electra.embeddings."):
        n = "generator." + n[len("electra."):]
    parts = n.split(".")
    out = []
    i = 0
    while i < len(parts):
        p = parts[i]
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{p}_{parts[i + 1]}")
            i += 2
            continue
        out.append(p)
        i += 1
    out = ["dense_1" if p == "dense_prediction" else p for p in out]
    last = out[-1]
    if last == "weight":
        if out[-2].endswith("_embeddings"):
            out.pop()
        elif out[-2] == "LayerNorm":
            out[-1] = "gamma"
        else:
            out[-1] = "kernel"
    elif last == "bias" and out[-2] == "LayerNorm":
        out[-1] = "beta"
    return "/".join(out)


def write_tf1(disc, gen):
    import tensorflow as tf
    base = fresh(os.path.join(ROOT, "tf1"))
    variables = {}
    for tower, model in (("discriminator", disc), ("generator", gen)):
        for hf, p in model.state_dict().items():
            if hf.endswith("position_ids") or hf == "generator_lm_head.weight":
                continue
            name = tf1_name(hf, tower)
            arr = p.detach().numpy()
            if name.endswith("/kernel"):
                arr = arr.T
            if name in variables:  # shared embeddings: identical in both towers
                assert np.array_equal(variables[name], arr), name
            variables[name] = np.ascontiguousarray(arr)
    rng = np.random.default_rng(5)
    for name in list(variables):
        variables[name + "/adam_m"] = rng.standard_normal(variables[name].shape).astype(np.float32) * 1e-3
        variables[name + "/adam_v"] = np.abs(rng.standard_normal(variables[name].shape).astype(np.float32)) * 1e-6
    graph = tf.Graph()
    with graph.as_default():
        vs = [tf.compat.v1.get_variable(n, initializer=tf.constant(a)) for n, a in sorted(variables.items())]
        step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver(var_list=vs + [step])
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            s.run(step.assign(7))
            saver.save(s, os.path.join(base, "model.ckpt"), global_step=7, write_meta_graph=False)
    with open(os.path.join(base, "checkpoint"), "w") as f:  # relative paths, as Google ships them
        f.write('model_checkpoint_path: "model.ckpt-7"\nall_model_checkpoint_paths: "model.ckpt-7"\n')
    for tower, cfg, cls in (("discriminator", DISC, ElectraForPreTraining), ("generator", GEN, ElectraForMaskedLM)):
        config = ElectraConfig(**cfg)
        with open(os.path.join(base, f"{tower[:4] if tower == 'discriminator' else 'gen'}_config.json"), "w") as f:
            f.write(config.to_json_string())
        model = cls(config).eval()
        load_tf_weights_in_electra(model, config, os.path.join(base, "model.ckpt-7"), discriminator_or_generator=tower)
        state = {k: v.contiguous() for k, v in model.state_dict().items()
                 if not k.endswith("position_ids") and k != "generator_lm_head.weight"}
        save_file(state, os.path.join(base, f"hf_{tower}.safetensors"))
        with torch.no_grad():
            logits = model(**inputs()).logits
        save_file({"logits": logits.contiguous()}, os.path.join(base, f"expected_{tower}.safetensors"))


def main():
    torch.manual_seed(0)
    disc = ElectraForPreTraining(ElectraConfig(**DISC)).eval()
    perturb(disc, 1)
    gen = ElectraForMaskedLM(ElectraConfig(**GEN)).eval()
    perturb(gen, 2)
    with torch.no_grad():  # the towers share their embeddings, as in ELECTRA pretraining
        for k, v in disc.electra.embeddings.state_dict().items():
            gen.electra.embeddings.state_dict()[k].copy_(v)
    save_formats("disc", ElectraForPreTraining, TFElectraForPreTraining, FlaxElectraForPreTraining, disc)
    save_formats("gen", ElectraForMaskedLM, TFElectraForMaskedLM, FlaxElectraForMaskedLM, gen)
    save_file(inputs(), os.path.join(ROOT, "inputs.safetensors"))
    write_tf1(disc, gen)
    with open(os.path.join(ROOT, "VERSIONS"), "w") as f:
        import tensorflow as tf, flax, jax
        f.write(f"transformers {transformers.__version__}\ntorch {torch.__version__}\n"
                f"tensorflow {tf.__version__}\nflax {flax.__version__}\njax {jax.__version__}\n")


if __name__ == "__main__":
    main()
