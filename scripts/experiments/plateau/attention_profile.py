# Plateau probe (docs/pretraining.md, "Leaving the unigram plateau"): attention pattern of a trained masked LM at [MASK] positions, by relative offset.
import os, sys, numpy as np, torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'reference'))
import mlm_control as mc
from transformers import ElectraForMaskedLM
torch.set_num_threads(2)
m = ElectraForMaskedLM.from_pretrained(sys.argv[1], attn_implementation="eager").eval()
data = mc.PretrainingData(os.environ.get('HELDOUT_DATA', 'runs/wiki-heldout-128'))
rng = np.random.default_rng(0)
b = mc.masked_batch(data, np.arange(64), 0.15, rng)
with torch.no_grad():
    out = m.electra(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"], output_attentions=True)
B, L = b["input_ids"].shape
pos = b["positions"][b["was_masked"]]
for li, a in enumerate(out.attentions):  # [B,H,L,L]
    for h in range(a.shape[1]):
        prof = np.zeros(9); selfm = 0
        for p in pos.tolist():
            r, i = divmod(p, L)
            row = a[r, h, i].numpy()
            for k in range(-4, 5):
                if 0 <= i + k < L: prof[k + 4] += row[i + k]
        prof /= len(pos)
        n = b["attention_mask"].sum(1).float().mean().item()
        print(f"layer {li} head {h}: mass at offsets -4..4:", " ".join(f"{x:.3f}" for x in prof), f"(uniform {1/n:.3f})")
# norms
sd = m.state_dict()
for k in ["electra.embeddings.word_embeddings.weight", "electra.embeddings.position_embeddings.weight", "electra.embeddings.token_type_embeddings.weight"]:
    w = sd[k]; print(k, "row-norm mean %.3f" % w[:128].norm(dim=1).mean().item() if 'position' in k else "row-norm mean %.3f" % w.norm(dim=1).mean().item())
for n_, w in sd.items():
    if 'layer.0.attention' in n_ and 'weight' in n_ and 'LayerNorm' not in n_: print(n_, "std %.4f" % w.std().item())
