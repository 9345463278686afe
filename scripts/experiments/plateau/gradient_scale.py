# Plateau probe (docs/pretraining.md, "Leaving the unigram plateau"): typical gradient magnitudes per parameter (one batch of 32) against Adam's eps 1e-6.
import os, sys, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'reference'))
import mlm_control as mc
from transformers import ElectraForMaskedLM, ElectraConfig
torch.set_num_threads(1); torch.manual_seed(0)
if sys.argv[1] == 'init':
    m = ElectraForMaskedLM(ElectraConfig(vocab_size=30522, embedding_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512))
else:
    m = ElectraForMaskedLM.from_pretrained(sys.argv[1])
m.train()
data = mc.PretrainingData(os.environ.get('TRAIN_DATA', 'runs/wiki-train-128'))
rng = np.random.default_rng(1)
b = mc.masked_batch(data, rng.permutation(data.count)[:32], 0.15, rng)
loss = F.cross_entropy(mc.chosen_logits(m, b), b["targets"]); loss.backward()
for n, p in m.named_parameters():
    if p.grad is None: continue
    g = p.grad.abs()
    if 'word_embeddings' in n: g = g[g > 0]
    print(f"{n:70s} median|g| {g.median().item():.2e}  mean|g| {g.mean().item():.2e}")
