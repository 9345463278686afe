#!/usr/bin/env python3
"""PyTorch DistributedDataParallel (gloo) counterpart of `mpirun -np N electra bench --train|--pretrain`:
N processes on this machine, T threads each, every rank its own batch, gradients averaged by
DDP's bucketed allreduce (overlapped with backward), then clip 1.0 and AdamW, fp32.

  --mode train:    ElectraForPreTraining on random full-length ids with random 0/1 labels
                   (the step of scripts/bench/pytorch_train.py; the "fine-tuning step")
  --mode pretrain: one RTD step as scripts/bench/pytorch_pretrain.py (generator sharing the
                   discriminator's embeddings, masked positions only, sampling, 1 x MLM + 50 x BCE)

Prints one JSON object (rank 0): global tokens/s and the median ms per step over the ranks'
slowest. Run with the reference venv:
  python scripts/bench/pytorch_ddp.py --mode pretrain --preset small --batch-size 32 --ranks 2 --threads 1
"""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining

from pytorch_pretrain import PRESETS, generator_config


class RTD(torch.nn.Module):
    """Generator and discriminator as one module (DDP wraps one), embeddings shared."""

    def __init__(self, dcfg, gcfg):
        super().__init__()
        self.disc = ElectraForPreTraining(dcfg)
        self.gen = ElectraForMaskedLM(gcfg)
        self.gen.electra.embeddings = self.disc.electra.embeddings
        self.gen.generator_lm_head.weight = self.disc.electra.embeddings.word_embeddings.weight

    def forward(self, ids, masked, chosen, mask, types):
        h = self.gen.electra(input_ids=masked, attention_mask=mask, token_type_ids=types).last_hidden_state
        logits = self.gen.generator_lm_head(self.gen.generator_predictions(h[chosen]))
        g_loss = torch.nn.functional.cross_entropy(logits, ids[chosen])
        with torch.no_grad():
            sampled = torch.multinomial(torch.softmax(logits.detach(), -1), 1).squeeze(1)
        d_ids = ids.clone()
        d_ids[chosen] = sampled
        labels = (d_ids != ids).long()
        d_loss = self.disc(input_ids=d_ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
        return g_loss + 50 * d_loss


def worker(rank, args, port):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
    torch.manual_seed(rank)
    b, l = args.batch_size, args.length
    shape, size = PRESETS[args.preset]
    dcfg = ElectraConfig(**shape)
    ids = torch.randint(1000, 30000, (b, l))
    ids[:, 0], ids[:, l // 2], ids[:, -1] = 101, 102, 102
    types = torch.zeros(b, l, dtype=torch.long)
    types[:, l // 2 + 1:] = 1
    mask = torch.ones(b, l, dtype=torch.long)
    if args.mode == "pretrain":
        torch.manual_seed(0)  # the same initial weights on every rank
        model = RTD(dcfg, generator_config(dcfg, size)).train()
        special = (ids == 101) | (ids == 102)
        n_mask = min(19, round(0.15 * l))
    else:
        torch.manual_seed(0)
        model = ElectraForPreTraining(dcfg).train()
        labels = torch.randint(0, 2, (b, l))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    params = [p for p in ddp.parameters()]
    opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=False)
        if args.mode == "pretrain":
            scores = torch.rand(b, l).masked_fill(special, -1.0)
            chosen = torch.zeros(b, l, dtype=torch.bool).scatter_(1, scores.topk(n_mask, dim=1).indices, True)
            masked = ids.clone()
            masked[chosen & (torch.rand(b, l) < 0.85)] = 103
            loss = ddp(ids, masked, chosen, mask, types)
        else:
            loss = ddp(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()
    times = []
    for _ in range(args.iterations):
        dist.barrier()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = torch.tensor([sorted(times)[len(times) // 2]])
    dist.all_reduce(med, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(json.dumps({"mode": args.mode, "shape": f"{args.preset}:{b}x{l}", "ranks": args.ranks, "threads": args.threads,
                          "tokens_per_s": args.ranks * b * l / med.item(), "ms_per_step": med.item() * 1000,
                          "runs": len(times), "torch": torch.__version__, "backend": "gloo"}), flush=True)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["train", "pretrain"], default="pretrain")
    ap.add_argument("--preset", default="small", choices=list(PRESETS))
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--port", type=int, default=29517)
    args = ap.parse_args()
    mp.spawn(worker, args=(args, args.port), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
