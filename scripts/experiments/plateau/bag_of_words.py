# Plateau probe (docs/pretraining.md, "Leaving the unigram plateau"): how fast does a bag-of-words masked LM leave the unigram plateau?
# context = mean of the other tokens' embeddings (window W: only |i-j|<=W, 0 = whole sequence)
import os, sys, math, time, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'reference'))
import mlm_control as mc
torch.manual_seed(0); torch.set_num_threads(1)
lr = float(sys.argv[1]); W = int(sys.argv[2]); steps = int(sys.argv[3])
data = mc.PretrainingData(os.environ.get('TRAIN_DATA', 'runs/wiki-train-128'))
rng = np.random.default_rng(0)
E=128; V=30522
emb = torch.nn.Embedding(V, E); torch.nn.init.normal_(emb.weight, std=0.02)
proj = torch.nn.Linear(E, E); torch.nn.init.normal_(proj.weight, std=0.02); torch.nn.init.zeros_(proj.bias)
ln = torch.nn.LayerNorm(E); bias = torch.nn.Parameter(torch.zeros(V))
params = list(emb.parameters())+list(proj.parameters())+list(ln.parameters())+[bias]
opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
perm = rng.permutation(data.count); B=32; t0=time.time(); hist=[]
for step in range(steps):
    b = mc.masked_batch(data, perm[step*B:(step+1)*B], 0.15, rng)
    ids, att = b["input_ids"], b["attention_mask"].float()
    L = ids.shape[1]
    x = emb(ids) * att[..., None]                                  # [B,L,E]
    if W == 0:
        A = att[:, None, :].expand(-1, L, -1).clone()
    else:
        i = torch.arange(L); A = ((i[:, None]-i[None, :]).abs() <= W).float()[None] * att[:, None, :]
    A = A * (1 - torch.eye(L))[None]
    ctx = (A @ x) / A.sum(-1, keepdim=True).clamp(min=1)
    rows = ctx.reshape(-1, E).index_select(0, b["positions"])
    z = ln(F.gelu(proj(rows))) @ emb.weight.T + bias
    loss = F.cross_entropy(z, b["targets"])
    lr_now = lr * min(1, step / 100)
    for g in opt.param_groups: g["lr"] = lr_now
    opt.zero_grad(); loss.backward(); opt.step()
    s, c, n = mc.masked_metrics(z.detach(), b); hist.append((s/n, c/n))
    if (step+1) % 50 == 0:
        h = np.array(hist[-50:]); print(step+1, "masked loss %.3f acc %.3f  %.0fs" % (h[:,0].mean(), h[:,1].mean(), time.time()-t0), flush=True)
