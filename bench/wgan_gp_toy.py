"""PyTorch reference for earthmover's GAN benchmark: the WGAN-GP toy config of Gulrajani et al.
(gan_toy.py): 3x512 ReLU MLPs, noise dim 2, batch 256, 5 critic steps per generator step,
double-backward gradient penalty with lambda 0.1, Adam 1e-4, betas (0.5, 0.9), 8 Gaussians.

Prints one JSON line: generator iterations per second on the CPU, after warm-up.
"""
import argparse
import json
import math
import time

import torch
from torch import nn


def eight_gaussians(n, g):
    s = 1.0 / math.sqrt(2)
    centres = torch.tensor([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)], dtype=torch.float32) * 2
    idx = torch.randint(0, 8, (n,), generator=g)
    return (centres[idx] + 0.02 * torch.randn(n, 2, generator=g)) / 1.414


def mlp(inp, hidden, depth, out):
    layers, d = [], inp
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    layers.append(nn.Linear(d, out))
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    G, D = mlp(2, a.hidden, 3, 2), mlp(2, a.hidden, 3, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
    B, LAMBDA = 256, 0.1

    def step():
        for _ in range(5):
            real = eight_gaussians(B, g)
            with torch.no_grad():
                fake = G(torch.randn(B, 2, generator=g))
            eps = torch.rand(B, 1, generator=g)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
            gp = ((grad.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
            loss_d = D(fake).mean() - D(real).mean() + gp
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = -D(G(torch.randn(B, 2, generator=g))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.iters):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "hidden": a.hidden, "iters": a.iters, "seconds": dt, "gen_iters_per_s": a.iters / dt}))


if __name__ == "__main__":
    main()
