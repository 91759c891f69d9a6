#!/usr/bin/python3
"""Golden values for tests/unit/test_train_optim.cpp: torch.optim.AdamW and the HF schedules.

Run with Debian's python3-torch: /usr/bin/python3 scripts/ref/train_adamw_ref.py
AdamW: two parameters (one decayed, one not), 3 updates with fixed gradients and per-update lrs.
"""
import torch

torch.set_default_dtype(torch.float32)
w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
b = torch.nn.Parameter(torch.tensor([0.25, -0.75]))
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=0.1, betas=(0.9, 0.999), eps=1e-8, foreach=False)
grads_w = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3], [-1.5, 0.0, 0.7]]
grads_b = [[1.0, 2.0], [-0.5, 0.25], [0.0, -3.0]]
lrs = [0.1, 0.05, 0.025]
for gw, gb, lr in zip(grads_w, grads_b, lrs):
    for g in opt.param_groups:
        g["lr"] = lr
    w.grad = torch.tensor(gw)
    b.grad = torch.tensor(gb)
    opt.step()
print("w", ["%.9g" % v for v in w.tolist()])
print("b", ["%.9g" % v for v in b.tolist()])
