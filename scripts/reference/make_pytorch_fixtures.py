#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures that `swift test` checks
(Tests/ElectraTests/Fixtures/checkpoints/pytorch), each a few KB:

  state_dict.bin            torch.save of a state dict: F32/F16/BF16/F64/I64/BOOL tensors, a tied
                            weight (two names, one storage), views with a storage offset,
                            transposed (non-contiguous) views, a Parameter, a 0-d tensor, a
                            plain int (skipped by the reader) and `_metadata`
  state_dict_proto4.bin     the same, pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)
  state_dict_zip64.bin      the same entries repacked with ZIP64 records, unaligned data and
                            a zip comment
  state_dict.safetensors    the expected values: every tensor contiguous, floats as torch's
                            own `.float()`, ints as stored; metadata "dtype.<name>" = stored dtype
  evil_*.bin                hostile pickles in valid zips; each would `touch` MARKER if run
  truncated_pickle.bin, short_storage.bin, view_out_of_bounds.bin, top_level_list.bin,
  training_checkpoint.bin, big_endian.bin, compressed.bin, uint16.bin, legacy.bin
                            files the reader must refuse with a clear error

Run by hand in a venv with scripts/reference/requirements.txt:
  ../venv/bin/python scripts/reference/make_pytorch_fixtures.py
"""
import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures",
                    "checkpoints", "pytorch")
# The Swift test deletes this file, loads every evil_*.bin, and checks it was not created.
MARKER = "/tmp/electra-pytorch-fixture-pwned"
assert torch.__version__.startswith("2.15"), "pin torch 2.15 (scripts/reference/requirements.txt)"


def state_dict():
    g = torch.Generator().manual_seed(0)
    rand = lambda *s: torch.randn(*s, generator=g)
    embed = rand(5, 4)
    qkv = rand(6, 4)
    half = torch.tensor([[1.0, -2.5, 65504.0], [6e-8, -0.0, float("inf")]], dtype=torch.float16)
    sd = collections.OrderedDict()
    sd["embeddings.word_embeddings.weight"] = embed
    sd["lm_head.weight"] = embed                      # tied: one storage, two names
    sd["attn.qkv"] = qkv
    sd["attn.k"] = qkv[2:4]                           # contiguous view, storage offset 8
    sd["attn.v_t"] = qkv[4:6].t()                     # non-contiguous view with offset 16
    sd["proj.t"] = rand(3, 5).t()                     # non-contiguous, storage saved alone
    sd["half.weight"] = half
    sd["half.t"] = half.t()                           # non-contiguous F16 (shares storage)
    sd["bf16.weight"] = rand(3).to(torch.bfloat16)
    sd["f64.bias"] = torch.tensor([1e-40, 3.141592653589793, -1e30, 0.1], dtype=torch.float64)
    sd["position_ids"] = torch.arange(5).unsqueeze(0)  # I64
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(0.5)                  # 0-d
    sd["param"] = torch.nn.Parameter(rand(2))
    sd["step"] = 7                                    # not a tensor: skipped
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    return sd


DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.bool: "BOOL"}


def expected(sd):
    tensors, meta = {}, {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            continue
        v = v.detach()
        meta["dtype." + k] = DTYPES[v.dtype]
        tensors[k] = (v.float() if v.dtype.is_floating_point else v).contiguous().clone()
    return tensors, meta


def torch_bytes(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def entries_of(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(path, entries, deflate=()):
    """Python's own zip writer: data not 64-byte aligned, unlike torch's."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            z.writestr(name, data, zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED)


def write_zip64(path, entries, comment=b""):
    """A stored zip whose sizes and offsets all live in ZIP64 extra fields and records."""
    out, central = bytearray(), bytearray()
    sat32, sat16 = 0xFFFFFFFF, 0xFFFF
    for name, data in entries:
        n, crc, offset = name.encode(), zlib.crc32(data), len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, sat32, sat32, len(n), len(extra))
        out += n + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, sat32, sat32,
                               len(n), len(cextra), 0, 0, 0, 0, sat32)
        central += n + cextra
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, sat16, sat16, sat32, sat32, len(comment)) + comment
    with open(path, "wb") as f:
        f.write(out)
    z = zipfile.ZipFile(path)  # Python's reader must agree with the hand-written records
    assert [(i.filename, z.read(i.filename)) for i in z.infolist()] == list(entries)


class FakeStorage:
    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class FakeTensor:
    """Pickles exactly as torch does, with whatever (possibly impossible) view we ask for."""
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def fake_pickle(obj):
    b = io.BytesIO()
    FakePickler(b, protocol=2).dump(obj)
    return b.getvalue()


def evil_zip(path, pkl):
    write_zip(path, [("evil/data.pkl", pkl), ("evil/byteorder", b"little"),
                     ("evil/data/0", struct.pack("<4f", 1, 2, 3, 4))])


def u(s):  # BINUNICODE
    s = s.encode()
    return b"X" + struct.pack("<I", len(s)) + s


def main():
    os.makedirs(ROOT, exist_ok=True)
    for f in os.listdir(ROOT):
        os.remove(os.path.join(ROOT, f))
    path = lambda name: os.path.join(ROOT, name)

    sd = state_dict()
    tensors, meta = expected(sd)
    save_file(tensors, path("state_dict.safetensors"), metadata=meta)
    torch.save(sd, path("state_dict.bin"))  # saved to a path, the zip folder is "state_dict"
    with open(path("state_dict.bin"), "rb") as f:
        good = f.read()
    with open(path("state_dict_proto4.bin"), "wb") as f:
        f.write(torch_bytes(sd, pickle_protocol=4))
    entries = entries_of(good)
    write_zip64(path("state_dict_zip64.bin"), [(n.replace("state_dict/", "repacked/"), d) for n, d in entries],
                comment=b"repacked by make_pytorch_fixtures.py")
    assert torch.load(io.BytesIO(good), weights_only=True).keys() == sd.keys()
    pkl = dict(entries)["state_dict/data.pkl"]

    # Hostile pickles: run by a real unpickler, each of these would create MARKER.
    touch = f"touch {MARKER}"
    evil_zip(path("evil_os_system.bin"), b"\x80\x02cos\nsystem\n" + u(touch) + b"\x85R.")
    evil_zip(path("evil_builtins_eval.bin"),
             b"\x80\x02cbuiltins\neval\n" + u(f"__import__('os').system('{touch}')") + b"\x85R.")
    evil_zip(path("evil_posix_system_proto4.bin"),
             b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93" + u(touch) + b"\x85R.")
    for name in ("evil_os_system.bin", "evil_builtins_eval.bin", "evil_posix_system_proto4.bin"):
        # Proof that the fixture is really hostile: Python's own unpickler runs it.
        with zipfile.ZipFile(path(name)) as z:
            pickle.loads(z.read("evil/data.pkl"))
        assert os.path.exists(MARKER), name
        os.remove(MARKER)
    swapped = pkl.replace(b"ctorch._utils\n_rebuild_tensor_v2\n", b"ccollections\nCounter\n")
    assert swapped != pkl
    write_zip(path("evil_counter.bin"), [(n, swapped if n.endswith("data.pkl") else d) for n, d in entries])

    # Damaged and unsupported files.
    write_zip(path("truncated_pickle.bin"),
              [(n, d[: len(d) // 2] if n.endswith("data.pkl") else d) for n, d in entries])
    write_zip(path("short_storage.bin"),
              [(n, d[: len(d) // 2] if n == "state_dict/data/0" else d) for n, d in entries])
    write_zip(path("big_endian.bin"), [(n, b"big" if n.endswith("byteorder") else d) for n, d in entries])
    write_zip(path("compressed.bin"), entries, deflate={"state_dict/data/0"})
    oob = fake_pickle(collections.OrderedDict(
        ok=FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 0, (2, 2), (2, 1)),
        past_the_end=FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 2, (2, 2), (2, 1))))
    evil_zip(path("view_out_of_bounds.bin"), oob)
    with open(path("top_level_list.bin"), "wb") as f:
        f.write(torch_bytes([torch.ones(2)]))
    with open(path("training_checkpoint.bin"), "wb") as f:
        f.write(torch_bytes({"model": {"w": torch.ones(2)}, "epoch": 3}))
    with open(path("uint16.bin"), "wb") as f:  # torch 2.x pickles such dtypes with _rebuild_tensor_v3
        f.write(torch_bytes({"w": torch.zeros(2, dtype=torch.uint16)}))
    with open(path("legacy.bin"), "wb") as f:
        f.write(torch_bytes({"w": torch.ones(2)}, _use_new_zipfile_serialization=False))

    for f in sorted(os.listdir(ROOT)):
        print(f"{os.path.getsize(path(f)):6d}  {f}")


if __name__ == "__main__":
    main()
