#!/usr/bin/env python3
"""Hostile and unusual HDF5 files for the TF2 .h5 reader's tests
(Tests/ElectraTests/Fixtures/checkpoints/h5). Needs h5py (requirements-checkpoints.txt).
  links.h5       a real dataset, a soft link and an external link to it (links are not followed)
  compressed.h5  a gzip-compressed dataset (refused: Keras never compresses)
  unwritten.h5   a 2^30-element chunked dataset never written (refused: a tiny file must not
                 make the reader allocate gigabytes)
"""
import os

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ElectraTests", "Fixtures", "checkpoints", "h5")
os.makedirs(ROOT, exist_ok=True)

with h5py.File(os.path.join(ROOT, "links.h5"), "w") as f:
    g = f.create_group("electra")
    g.create_dataset("m/electra/embeddings/LayerNorm/gamma:0", data=np.arange(4, dtype=np.float32))
    f["soft"] = h5py.SoftLink("/electra")
    f["external"] = h5py.ExternalLink("/etc/passwd", "/x")

with h5py.File(os.path.join(ROOT, "compressed.h5"), "w") as f:
    f.create_dataset("electra/m/electra/embeddings/LayerNorm/gamma:0", data=np.ones(64, dtype=np.float32), compression="gzip")

with h5py.File(os.path.join(ROOT, "unwritten.h5"), "w") as f:
    f.create_dataset("electra/m/electra/embeddings/word_embeddings/weight:0", shape=(1 << 15, 1 << 15), dtype=np.float32, chunks=(64, 64))
