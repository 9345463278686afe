# Plateau probe (docs/pretraining.md, "Leaving the unigram plateau"): sequence-length curriculum. Each 128-token example is cut into windows of length w
# (positions restart at 0), batch keeps ~4096 tokens; eval on 512 held-out 128-token examples.
import os, sys, time, math, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'reference'))
import mlm_control as mc
from transformers import ElectraForMaskedLM, ElectraConfig
torch.set_num_threads(1); torch.manual_seed(0)
sched = [(int(a), int(b)) for a, b in (x.split(':') for x in sys.argv[1].split(','))]  # w:until_step
sin_rms = float(sys.argv[2]); steps = sched[-1][1]; lr = 1e-3
m = ElectraForMaskedLM(ElectraConfig(vocab_size=30522, embedding_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
                                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).train()
if sin_rms > 0:
    with torch.no_grad(): m.electra.embeddings.position_embeddings.weight.copy_(mc.sinusoid(512, 128).float() * sin_rms * math.sqrt(2))
data = mc.PretrainingData(os.environ.get('TRAIN_DATA', 'runs/wiki-train-128')); held = mc.PretrainingData(os.environ.get('HELDOUT_DATA', 'runs/wiki-heldout-128'))
rng = np.random.default_rng(0); perm = rng.permutation(data.count)
erng = np.random.default_rng(5); ev = [mc.masked_batch(held, np.arange(i, i + 64), 0.15, erng) for i in range(0, 512, 64)]
opt = torch.optim.AdamW(m.parameters(), lr=lr, eps=1e-6, weight_decay=0.0)
def logits(b):
    h = m.electra(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"]).last_hidden_state
    return m.generator_lm_head(m.generator_predictions(h.reshape(-1, h.shape[-1]).index_select(0, b["positions"])))
cursor = 0; hist = []; t0 = time.time()
for step in range(steps):
    w = next(a for a, until in sched if step < until)
    if w >= 128:
        idx = perm[cursor:cursor + 32]; cursor += 32
        b = mc.masked_batch(data, idx, 0.15, rng)
    else:
        rows = []
        while sum(len(r) for r in rows) < 4096:
            ids, fe = data.example(perm[cursor]); cursor += 1
            for k in range(0, len(ids), w):
                rows.append(ids[k:k + w])
        class D: pass
        d = D(); d.max_seq_length = w
        d.example = lambda i: (rows[i], len(rows[i]))
        b = mc.masked_batch(d, list(range(len(rows))), 0.15, rng)
    z = logits(b); loss = F.cross_entropy(z, b["targets"])
    for g in opt.param_groups: g["lr"] = lr * min(1, step / 100)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    s, c, n = mc.masked_metrics(z.detach(), b); hist.append((s / n, c / n))
    if (step + 1) % 100 == 0:
        m.eval()
        with torch.no_grad():
            S = C = N = 0
            for eb in ev: s_, c_, n_ = mc.masked_metrics(logits(eb), eb); S += s_; C += c_; N += n_
        m.train()
        h_ = np.array(hist[-100:]); print(step + 1, "w", w, "train masked %.3f acc %.3f | held-out(128) %.3f acc %.3f  %.0fs" % (h_[:, 0].mean(), h_[:, 1].mean(), S / N, C / N, time.time() - t0), flush=True)
