# Plateau probe (docs/pretraining.md, "Leaving the unigram plateau"): HF ElectraForMaskedLM (tiny) with attention forced to a +-W window (3D mask), vs full.
import os, sys, time, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'reference'))
import mlm_control as mc
from transformers import ElectraForMaskedLM, ElectraConfig
torch.set_num_threads(1); torch.manual_seed(0)
W = int(sys.argv[1]); steps = int(sys.argv[2]); lr = float(sys.argv[3]); eps = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-6
m = ElectraForMaskedLM(ElectraConfig(vocab_size=30522, embedding_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
                                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0), ).train()
data = mc.PretrainingData(os.environ.get('TRAIN_DATA', 'runs/wiki-train-128'))
rng = np.random.default_rng(0); perm = rng.permutation(data.count)
opt = torch.optim.AdamW(m.parameters(), lr=lr, eps=eps, weight_decay=0.0)
hist = []; t0 = time.time()
for step in range(steps):
    b = mc.masked_batch(data, perm[step*32:(step+1)*32], 0.15, rng)
    att = b["attention_mask"]; L = att.shape[1]
    if W > 0:
        i = torch.arange(L); local = ((i[:, None] - i[None, :]).abs() <= W).long()
        att3 = local[None] * att[:, None, :]
    else:
        att3 = att
    h = m.electra(input_ids=b["input_ids"], attention_mask=att3, token_type_ids=b["token_type_ids"]).last_hidden_state
    z = m.generator_lm_head(m.generator_predictions(h.reshape(-1, 128).index_select(0, b["positions"])))
    loss = F.cross_entropy(z, b["targets"])
    for g in opt.param_groups: g["lr"] = lr * min(1, step / 100)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    s, c, n = mc.masked_metrics(z.detach(), b); hist.append((s / n, c / n))
    if (step + 1) % 50 == 0:
        h_ = np.array(hist[-50:]); print(step + 1, "masked loss %.3f acc %.3f  %.0fs" % (h_[:, 0].mean(), h_[:, 1].mean(), time.time() - t0), flush=True)
