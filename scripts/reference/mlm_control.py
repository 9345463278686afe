#!/usr/bin/env python3
"""A PyTorch control for `electra pretrain --objective mlm`: Hugging Face's own
ElectraForMaskedLM, trained by a plain loop on the same prepare-data folder with the same recipe
(masking, loss at the chosen positions only, ELECTRA's AdamWeightDecay, global-norm clipping,
warmup times linear decay), logging JSON lines whose curves overlay the Swift trainer's. If both
learn alike, a gap elsewhere is not a bug in our model, gradients or optimizer.

Run by hand in a venv outside the repo (scripts/reference/requirements.txt), never by CI:
  ../venv/bin/python scripts/reference/mlm_control.py --data /work/data/wiki-train-128 \\
      --validation /work/data/wiki-heldout-128 --preset tiny --max-steps 2000 \\
      --log /tmp/mlm_control.jsonl

Sequence length warmup and sinusoidal positions, as `electra pretrain --seq-length-warmup 2000
--position-init sinusoidal --position-init-rms 0.1`:
  ../venv/bin/python scripts/reference/mlm_control.py --data /work/data/wiki-train-128 \\
      --validation /work/data/wiki-heldout-128 --preset tiny --max-steps 20000 \\
      --seq-length-warmup 2000 --seq-length-start 16 \\
      --position-init sinusoidal --position-init-rms 0.1 --log /tmp/mlm_control_slw.jsonl
The first N optimizer steps cut each example into consecutive pieces of S tokens (then 2S, 4S,
... while shorter than max_seq_length, each length for an equal share of the N steps), each
piece a row of its own with positions from 0; after N steps, whole examples. A batch is still
--batch-size examples (more, shorter rows, the same tokens). Train records carry "window": the
piece length of the record's last step (max_seq_length when whole). Evaluation always uses
whole held-out examples. --position-init-rms R scales the sin/cos table to RMS R (multiplier
R x sqrt(2)); the older --position-scale M, the multiplier itself, still works and wins if given.

Batch order and masking draws come from numpy, not from the Swift trainer's generator: the
runs see the same distribution of batches, not the same batches.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file
from transformers import ElectraConfig, ElectraForMaskedLM

PAD, CLS, SEP, MASK = 0, 101, 102, 103
SPECIAL = (PAD, CLS, SEP, MASK)
VOCAB = 30522
MASK_TOKEN_SHARE = 0.85
PRESETS = {  # (embedding, hidden, layers, heads, intermediate)
    "tiny": (128, 128, 2, 2, 512),
    "mini": (128, 256, 4, 4, 1024),
}
EVAL_BATCH = 64
EVAL_MASK_SEED = 20240917  # one fixed masking, so successive evaluations are comparable


class PretrainingData:
    """All shards of a prepare-data folder as one id array plus example offsets."""

    def __init__(self, folder):
        with open(os.path.join(folder, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.max_seq_length = int(self.manifest["max_seq_length"])
        ids, offsets, firsts, base = [], [np.zeros(1, np.int64)], [], 0
        for shard in self.manifest["shards"]:
            t = load_file(os.path.join(folder, shard["file"]))
            assert len(t["offsets"]) == shard["examples"] + 1 and t["offsets"][-1] == len(t["input_ids"]) == shard["tokens"], shard
            ids.append(t["input_ids"])
            offsets.append(t["offsets"][1:].astype(np.int64) + base)
            firsts.append(t["first_segment_end"])
            base += len(t["input_ids"])
        self.ids = np.concatenate(ids)
        self.offsets = np.concatenate(offsets)
        self.first_segment_end = np.concatenate(firsts)
        self.count = len(self.first_segment_end)
        assert self.count == self.manifest["examples"], (self.count, self.manifest["examples"])

    def example(self, i):
        return self.ids[self.offsets[i]:self.offsets[i + 1]], int(self.first_segment_end[i])

    def unigram_reference(self):
        """Entropy (nats) and top-1 share of the candidate-token unigram: what a model that
        ignores context reaches (loss and accuracy), the plateau to leave behind."""
        counts = np.bincount(self.ids, minlength=VOCAB).astype(np.float64)
        counts[list(SPECIAL)] = 0
        p = counts / counts.sum()
        nz = p[p > 0]
        top = int(np.argmax(p))
        return {"kind": "reference", "unigram_entropy": float(-(nz * np.log(nz)).sum()),
                "unigram_top1_share": float(p[top]), "unigram_top1_id": top}


def warmup_window(step, warmup_steps, start, max_length):
    """Sequence length warmup's piece length at optimizer step `step` (0-based, updates already
    applied), None for whole examples: `start`, 2 x `start`, ... (while < `max_length`), each for
    an equal share of the `warmup_steps` steps, as the Swift trainer's SequenceLengthWarmup."""
    if step >= warmup_steps or start >= max_length:
        return None
    lengths, w = [], start
    while w < max_length:
        lengths.append(w)
        w *= 2
    return lengths[min(len(lengths) - 1, step * len(lengths) // max(warmup_steps, 1))]


def example_rows(data, indices, window):
    """(ids, first_segment_end) rows for examples `indices`: whole, or with `window` shorter
    than an example, its consecutive pieces of at most `window` tokens (pieces of at least 2
    tokens only), first_segment_end shifted to each piece's start."""
    rows = []
    for i in indices:
        ids, first_end = data.example(i)
        if window is None or window >= len(ids):
            rows.append((ids, first_end))
            continue
        rows.extend((ids[start:start + window], first_end - start)
                    for start in range(0, len(ids), window) if len(ids) - start >= 2)
    return rows


def masked_batch(data, indices, mask_prob, rng, window=None):
    """Examples `indices` (cut into pieces of `window` tokens if given) padded to the longest
    and masked as pretrain_helpers.mask does. Returns tensors plus the flat positions (into
    [B*L]) chosen, their targets, and whether each chosen input became [MASK]."""
    rows = example_rows(data, indices, window)
    b = len(rows)
    length = max(len(ids) for ids, _ in rows)
    original = np.zeros((b, length), np.int64)
    types = np.zeros((b, length), np.int64)
    attention = np.zeros((b, length), np.int64)
    for r, (ids, first_end) in enumerate(rows):
        original[r, :len(ids)] = ids
        types[r, max(first_end, 0):len(ids)] = 1
        attention[r, :len(ids)] = 1
    cap = data.max_seq_length if window is None else min(window, data.max_seq_length)
    max_predictions = max(1, int((mask_prob + 0.005) * cap))
    candidate = (attention == 1) & ~np.isin(original, SPECIAL)
    masked = original.copy()
    positions, was_masked = [], []
    for r in range(b):
        cand = np.flatnonzero(candidate[r])
        # floor(x + 0.5), as the Swift trainer's .rounded() (tf.round would round half to even)
        wanted = max(1, min(max_predictions, int(math.floor(attention[r].sum() * mask_prob + 0.5))))
        n = min(wanted, len(cand))
        chosen = np.sort(rng.choice(cand, size=n, replace=False)) if n > 0 else cand[:0]
        to_mask = rng.random(n) < MASK_TOKEN_SHARE
        masked[r, chosen[to_mask]] = MASK
        positions.append(r * length + chosen)
        was_masked.append(to_mask)
    positions = np.concatenate(positions)
    return {
        "input_ids": torch.from_numpy(masked),
        "token_type_ids": torch.from_numpy(types),
        "attention_mask": torch.from_numpy(attention),
        "positions": torch.from_numpy(positions),
        "targets": torch.from_numpy(original.reshape(-1)[positions]),
        "was_masked": torch.from_numpy(np.concatenate(was_masked)),
        "tokens": int(attention.sum()),
    }


def chosen_logits(model, batch):
    """Logits at the chosen positions only, as our trainer computes them: [M, V], not [B, L, V]."""
    hidden = model.electra(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           token_type_ids=batch["token_type_ids"]).last_hidden_state
    rows = hidden.reshape(-1, hidden.shape[-1]).index_select(0, batch["positions"])
    return model.generator_lm_head(model.generator_predictions(rows))


def masked_metrics(logits, batch):
    """Summed loss, correct count and count over the chosen positions whose input is [MASK]."""
    sel = batch["was_masked"]
    z, t = logits[sel], batch["targets"][sel]
    return (F.cross_entropy(z, t, reduction="sum").item(), (z.argmax(-1) == t).sum().item(), int(sel.sum()))


class ElectraAdamWeightDecay(torch.optim.Optimizer):
    """google-research/electra's AdamWeightDecayOptimizer: Adam moments with no bias
    correction, decoupled weight decay added to the update before the learning rate."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                update = m / (v.sqrt() + group["eps"])
                if group["weight_decay"]:
                    update.add_(p, alpha=group["weight_decay"])
                p.add_(update, alpha=-group["lr"])


def learning_rate(step, peak, warmup, total):
    """ELECTRA's schedule at `step` updates already applied: warmup times linear decay to 0."""
    warm = min(1.0, step / warmup) if warmup > 0 else 1.0
    return peak * warm * (1 - min(step, total) / total)


def sinusoid(positions, width):
    """The Transformer's sinusoid table: sin at even columns 2i, cos at odd 2i+1, both with
    frequency 1 / 10000^(2i/width)."""
    pos = np.arange(positions, dtype=np.float64)[:, None]
    i2 = np.arange(0, width, 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, i2 / width)
    table = np.zeros((positions, width))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, :width // 2])
    return torch.tensor(table, dtype=torch.float32)


def position_multiplier(args):
    """The factor on the raw sin/cos table: --position-scale as given, else --position-init-rms
    x sqrt(2) (each column's mean square over a period is 1/2, so the table's RMS is R)."""
    if args.position_scale is not None:
        return args.position_scale
    return args.position_init_rms * math.sqrt(2)


def build_model(args):
    e, h, l, a, f = PRESETS[args.preset]
    config = ElectraConfig(
        vocab_size=VOCAB, embedding_size=args.embedding_size or e, hidden_size=args.hidden_size or h,
        num_hidden_layers=args.layers or l, num_attention_heads=args.heads or a,
        intermediate_size=args.intermediate_size or f, max_position_embeddings=512,
        hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout)
    torch.manual_seed(args.seed)
    model = ElectraForMaskedLM(config)
    if args.position_init == "sinusoidal":
        w = model.electra.embeddings.position_embeddings.weight
        with torch.no_grad():
            w.copy_(sinusoid(*w.shape) * position_multiplier(args))
    return model


def build_optimizer(model, args):
    # named_parameters() lists the tied word embedding / LM head weight once, so it steps once.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if "LayerNorm" in name or "bias" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    betas = (0.9, args.adam_beta2)
    if args.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=0.0, betas=betas, eps=args.adam_epsilon)
    return ElectraAdamWeightDecay(groups, lr=0.0, betas=betas, eps=args.adam_epsilon)


def evaluate(model, eval_batches):
    model.eval()
    loss = correct = count = 0
    with torch.no_grad():
        for batch in eval_batches:
            l, c, n = masked_metrics(chosen_logits(model, batch), batch)
            loss, correct, count = loss + l, correct + c, count + n
    model.train()
    return loss / max(count, 1), correct / max(count, 1)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="prepare-data folder to train on")
    p.add_argument("--validation", help="prepare-data folder to evaluate on")
    p.add_argument("--log", required=True, help="JSON-lines metrics file (overwritten)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    p.add_argument("--embedding-size", type=int)
    p.add_argument("--hidden-size", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--intermediate-size", type=int)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--position-init", choices=["normal", "sinusoidal"], default="normal")
    p.add_argument("--position-init-rms", type=float, default=0.02,
                   help="sinusoidal: the table's RMS (default 0.02, the normal init's std), as the Swift trainer's")
    p.add_argument("--position-scale", type=float,
                   help="sinusoidal (older spelling): the multiplier on the raw sin/cos table, "
                        "i.e. RMS x sqrt(2); overrides --position-init-rms when given")
    p.add_argument("--seq-length-warmup", type=int, default=0,
                   help="sequence length warmup: the first N optimizer steps train on pieces of the examples (default 0: off)")
    p.add_argument("--seq-length-start", type=int, default=16,
                   help="sequence length warmup: the first piece length, doubled in equal shares of the N steps")
    p.add_argument("--mask-prob", type=float, default=0.15)
    p.add_argument("--optimizer", choices=["electra", "adamw"], default="electra")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, help="default: 10%% of --max-steps")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--adam-beta2", type=float, default=0.999)
    p.add_argument("--adam-epsilon", type=float, default=1e-6)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, required=True)
    p.add_argument("--max-time", type=float, help="seconds; stop (after logging) once exceeded")
    p.add_argument("--eval-steps", type=int, default=250)
    p.add_argument("--eval-examples", type=int, default=512)
    p.add_argument("--log-steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def main():
    args = parse_args()
    if args.seq_length_warmup < 0:
        sys.exit(f"--seq-length-warmup must be >= 0 steps, got {args.seq_length_warmup}")
    if args.seq_length_start < 4:
        sys.exit(f"--seq-length-start must be at least 4 tokens, got {args.seq_length_start}")
    torch.set_num_threads(args.threads)
    warmup = args.warmup_steps if args.warmup_steps is not None else int(math.floor(0.1 * args.max_steps + 0.5))
    warmup = min(warmup, args.max_steps)

    data = PretrainingData(args.data)
    eval_batches = []
    if args.validation:
        vdata = PretrainingData(args.validation)
        rng = np.random.default_rng(EVAL_MASK_SEED)
        n = min(args.eval_examples, vdata.count)
        eval_batches = [masked_batch(vdata, range(lo, min(lo + EVAL_BATCH, n)), args.mask_prob, rng)
                        for lo in range(0, n, EVAL_BATCH)]

    model = build_model(args)
    model.train()
    optimizer = build_optimizer(model, args)
    params = [p for _, p in model.named_parameters()]
    print(f"{sum(p.numel() for p in params):,} parameters, {data.count:,} examples, warmup {warmup} steps",
          file=sys.stderr)

    log = open(args.log, "w")

    def write(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()

    reference = data.unigram_reference()
    write(reference)
    print(f"unigram entropy {reference['unigram_entropy']:.4f} nats, top-1 id {reference['unigram_top1_id']} "
          f"share {reference['unigram_top1_share']:.4f}", file=sys.stderr)

    def run_eval(step, tokens):
        if not eval_batches:
            return
        loss, acc = evaluate(model, eval_batches)
        write({"kind": "eval", "step": step, "tokens": tokens, "eval_masked_loss": loss, "eval_masked_accuracy": acc})
        print(f"eval step {step}: masked loss {loss:.4f}, masked acc {acc:.4f}", file=sys.stderr)

    mask_rng = np.random.default_rng(args.seed + 31)
    steps_per_epoch = math.ceil(data.count / args.batch_size)
    started = time.time()
    recent, tokens, perm_epoch, perm = [], 0, -1, None
    for step in range(args.max_steps):
        step_start = time.time()  # per-step times keep evaluation out of tokens/s
        epoch, pos = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:
            perm_epoch, perm = epoch, np.random.default_rng(args.seed + 1000 + epoch).permutation(data.count)
        piece = warmup_window(step, args.seq_length_warmup, args.seq_length_start, data.max_seq_length)
        batch = masked_batch(data, perm[pos * args.batch_size:(pos + 1) * args.batch_size], args.mask_prob, mask_rng,
                             window=piece)

        logits = chosen_logits(model, batch)
        loss = F.cross_entropy(logits, batch["targets"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm).item()
        lr = learning_rate(step, args.learning_rate, warmup, args.max_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()

        with torch.no_grad():
            z = logits.detach()
            m_loss, m_correct, m_count = masked_metrics(z, batch)
            acc_chosen = (z.argmax(-1) == batch["targets"]).float().mean().item()
        tokens += batch["tokens"]
        recent.append((loss.item(), m_loss / max(m_count, 1), m_correct / max(m_count, 1), acc_chosen,
                       batch["tokens"], time.time() - step_start))

        done = step + 1
        out_of_time = args.max_time is not None and time.time() - started >= args.max_time
        if done % args.log_steps == 0 or done == args.max_steps or out_of_time:
            now = time.time()
            mean = [sum(w[k] for w in recent) / len(recent) for k in range(4)]
            tps = sum(w[4] for w in recent) / max(sum(w[5] for w in recent), 1e-9)
            # learning_rate, grad_norm and window are the logging window's last step's, as the Swift trainer logs them
            write({"kind": "train", "step": done, "tokens": tokens, "learning_rate": lr, "grad_norm": grad_norm,
                   "window": piece if piece is not None else data.max_seq_length, "loss": mean[0],
                   "generator_masked_loss": mean[1], "generator_masked_accuracy": mean[2],
                   "generator_accuracy_chosen": mean[3], "elapsed_seconds": now - started, "tokens_per_second": tps})
            print(f"step {done}: loss {mean[0]:.4f}  masked loss {mean[1]:.4f}  masked acc {mean[2]:.4f}  "
                  f"{tps:.0f} tokens/s  window {piece or data.max_seq_length}", file=sys.stderr)
            recent = []
        if (args.eval_steps > 0 and done % args.eval_steps == 0) or done == args.max_steps or out_of_time:
            run_eval(done, tokens)
        if out_of_time:
            print(f"--max-time reached at step {done} of {args.max_steps}", file=sys.stderr)
            break
    log.close()


if __name__ == "__main__":
    main()
