#!/usr/bin/env python3
"""Writes the TF1 TensorBundle fixtures that `TensorBundleTests` reads
(Tests/ElectraTests/Fixtures/checkpoints/tf1), with TensorFlow's own C++ writer.

  basic/model.ckpt-1000.{index,data-00000-of-00001} + basic/checkpoint
      ~50 variables under Google Research ELECTRA names (slashes, Adam slots, global_step),
      every numeric dtype the reader maps (f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool),
      an f16 of odd size so later f32 data sits unaligned, a scalar, an empty tensor and a
      DT_STRING tensor. Written by tf.raw_ops.SaveV2 (exact names, one shard).
  basic/expected.safetensors
      The same values for exact comparison (bf16 stored widened to F32; no strings).
  sharded/model.ckpt-5.{index,data-00000-of-00002,data-00001-of-00002}
      Two SaveV2 bundles merged by tf.raw_ops.MergeV2Checkpoints, as a sharded Saver does:
      one index whose entries point into two data files. Values in sharded/expected.safetensors.
  partitioned/model.ckpt-1.{index,data-00000-of-00001}
      A variable saved as two slices (a partitioned variable) beside a plain one.

TF's table writer puts up to 256 KiB of entries in one block, so these indexes are single-block;
the tests build multi-block indexes themselves. Run by hand (TensorFlow 2.x, safetensors, numpy):
  ../venv/bin/python scripts/reference/make_tf1_fixtures.py
"""
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "checkpoints", "tf1")
rng = np.random.default_rng(1000)


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save(prefix, tensors):
    """SaveV2 with full-tensor slices: keys are exactly the given names."""
    names = list(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(v) if not isinstance(v, tf.Tensor) else v for v in tensors.values()])


def floats(shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def electra_variables():
    """Small ELECTRA-shaped variables with Adam slots, in mixed float types."""
    out = {}
    hidden, inter = 4, 6
    layer_shapes = {
        "attention/self/query": (hidden, hidden), "attention/self/key": (hidden, hidden),
        "attention/self/value": (hidden, hidden), "attention/output/dense": (hidden, hidden),
        "intermediate/dense": (hidden, inter), "output/dense": (inter, hidden),
    }
    for layer in range(2):
        for scope, shape in layer_shapes.items():
            base = f"electra/encoder/layer_{layer}/{scope}"
            out[f"{base}/kernel"] = floats(shape)
            out[f"{base}/bias"] = floats(shape[-1:])
            out[f"{base}/kernel/adam_m"] = floats(shape)
            out[f"{base}/kernel/adam_v"] = np.abs(floats(shape))
    out["electra/embeddings/word_embeddings"] = floats((7, 3))
    out["electra/embeddings/LayerNorm/gamma"] = floats((3,), np.float16)  # odd f16: next f32 is unaligned
    out["electra/embeddings/LayerNorm/beta"] = floats((3,), np.float64)
    special = np.array([0.0, -0.0, 1e-40, 65504.0, -3.5, 1.0 / 3.0], np.float32)  # subnormal, signed zero
    out["electra/embeddings/position_embeddings"] = special.reshape(2, 3)
    return out


def write_basic():
    base = fresh(os.path.join(ROOT, "basic"))
    variables = electra_variables()
    ints = {
        "global_step": np.int64(1000),
        "counters/i64": np.array([-(1 << 40), 0, (1 << 40) + 7], np.int64),
        "counters/i32": np.array([[-7, 8], [2147483647, -2147483648]], np.int32),
        "counters/i16": np.array([-32768, 32767], np.int16),
        "counters/i8": np.array([-128, 127, 0], np.int8),
        "counters/u8": np.array([0, 255], np.uint8),
        "counters/bool": np.array([True, False, True], np.bool_),
        "empty": np.zeros((0, 3), np.float32),
    }
    bf16 = floats((2, 2))
    tensors = dict(variables)
    tensors.update(ints)
    tensors["electra/bf16"] = tf.constant(bf16, dtype=tf.bfloat16)
    tensors["vocab/strings"] = tf.constant([b"hello", b"", b"\xe2\x82\xac uro"])
    save(os.path.join(base, "model.ckpt-1000"), tensors)
    with open(os.path.join(base, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-1000"\nall_model_checkpoint_paths: "model.ckpt-1000"\n')
    expected = dict(variables)
    expected.update({k: np.asarray(v) for k, v in ints.items()})
    expected["electra/bf16"] = tf.cast(tf.constant(bf16, dtype=tf.bfloat16), tf.float32).numpy()
    # np.array keeps 0-d shapes (np.ascontiguousarray would make global_step [1]).
    save_file({k: np.array(v, order="C") for k, v in expected.items()}, os.path.join(base, "expected.safetensors"))
    return len(tensors)


def write_sharded():
    base = fresh(os.path.join(ROOT, "sharded"))
    first = {"electra/embeddings/word_embeddings": floats((5, 2)), "global_step": np.int64(5)}
    second = {"electra/encoder/layer_0/output/dense/kernel": floats((2, 3)),
              "electra/encoder/layer_0/output/dense/bias": floats((3,), np.float64)}
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, part in enumerate([first, second]):
            prefix = os.path.join(tmp, f"part-{i}")
            save(prefix, part)
            parts.append(prefix)
        tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=parts, destination_prefix=os.path.join(base, "model.ckpt-5"))
    files = sorted(os.listdir(base))
    assert "model.ckpt-5.data-00001-of-00002" in files, files
    save_file({k: np.asarray(v) for k, v in {**first, **second}.items()}, os.path.join(base, "expected.safetensors"))


def write_partitioned():
    base = fresh(os.path.join(ROOT, "partitioned"))
    full = floats((4, 2))
    tf.raw_ops.SaveV2(prefix=os.path.join(base, "model.ckpt-1"),
                      tensor_names=["electra/partitioned/kernel", "electra/partitioned/kernel", "plain"],
                      shape_and_slices=["4 2 0,2:-", "4 2 2,2:-", ""],
                      tensors=[tf.constant(full[:2]), tf.constant(full[2:]), tf.constant(np.float32([1, 2]))])


def check_with_tensorflow():
    """TF's own reader agrees with what was written (names, shapes, a value)."""
    reader = tf.train.load_checkpoint(os.path.join(ROOT, "basic", "model.ckpt-1000"))
    assert reader.get_tensor("global_step") == 1000
    reader = tf.train.load_checkpoint(os.path.join(ROOT, "sharded", "model.ckpt-5"))
    assert reader.get_variable_to_shape_map()["electra/embeddings/word_embeddings"] == [5, 2]


if __name__ == "__main__":
    n = write_basic()
    write_sharded()
    write_partitioned()
    check_with_tensorflow()
    for root, _, names in sorted(os.walk(ROOT)):
        for name in sorted(names):
            path = os.path.join(root, name)
            print(f"{os.path.relpath(path, ROOT):55s} {os.path.getsize(path):7d} bytes")
    print(f"basic: {n} entries")
