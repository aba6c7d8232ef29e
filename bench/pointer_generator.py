"""PyTorch reference for earthmover's pointer-generator training step (See et al. 2017).

The same model as src/summarize/model.rs — bidirectional LSTM encoder, reduce-state layers,
input-feeding LSTM decoder, additive attention with optional coverage, p_vocab, p_gen and the
copy distribution — and the same step: teacher-forced NLL (+ coverage loss), global-norm
clipping at 2.0 and Adagrad (lr 0.15, initial accumulator 0.1). Written the way a PyTorch user
would (nn.LSTM with packed sequences, nn.LSTMCell), on the CPU.

Also times a beam search (beam 4, 35-100 tokens, See et al.'s decoding, as
src/summarize/decode.rs runs it: candidates ranked by mean log-probability over the extended
vocabulary, p_vocab mixed with the copy distribution) on a 400-token article, with the model
initialised as See et al. do (uniform +-0.02 LSTMs, truncated normal 1e-4 elsewhere), so an
untrained model runs all 100 steps on both sides.

Usage: python bench/pointer_generator.py [--vocab 50000 --emb 128 --hidden 256 --batch 16
       --enc 400 --dec 100 --steps 5 --threads 2 --device cpu|cuda]
Prints one JSON line: seconds per step, tokens per second (article + summary tokens) and the
beam-search latency.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class PointerGenerator(nn.Module):
    def __init__(self, vocab, emb, hidden, coverage):
        super().__init__()
        self.vocab, self.hidden, self.coverage = vocab, hidden, coverage
        a = 2 * hidden
        self.embedding = nn.Embedding(vocab, emb)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.reduce_h = nn.Linear(2 * hidden, hidden)
        self.reduce_c = nn.Linear(2 * hidden, hidden)
        self.decoder_input = nn.Linear(emb + 2 * hidden, emb)
        self.decoder = nn.LSTMCell(emb, hidden)
        self.w_h = nn.Linear(2 * hidden, a, bias=False)
        self.w_s = nn.Linear(2 * hidden, a)
        self.w_c = nn.Linear(1, a, bias=False)
        self.v = nn.Linear(a, 1, bias=False)
        self.out1 = nn.Linear(3 * hidden, hidden)
        self.out2 = nn.Linear(hidden, vocab)
        self.p_gen = nn.Linear(4 * hidden + emb, 1)

    def forward(self, enc, enc_mask, enc_lens, dec_in, target_vocab, target_in_vocab, copy_mask, dec_mask, dec_lens):
        b, t = enc.shape
        j = dec_in.shape[1]
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(enc), enc_lens, batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = self.encoder(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)
        features = self.w_h(out)
        h = F.relu(self.reduce_h(torch.cat([h_n[0], h_n[1]], 1)))
        c = F.relu(self.reduce_c(torch.cat([c_n[0], c_n[1]], 1)))
        context = out.new_zeros(b, 2 * self.hidden)
        coverage = out.new_zeros(b, t)
        emb = self.embedding(dec_in)
        neg_mask = (enc_mask - 1.0) * 1e9
        hs, ctxs, ss, xs, attns, covs = [], [], [], [], [], []
        for k in range(j):
            x = self.decoder_input(torch.cat([emb[:, k], context], 1))
            h, c = self.decoder(x, (h, c))
            s = torch.cat([c, h], 1)
            scores = features + self.w_s(s).unsqueeze(1)
            if self.coverage:
                scores = scores + self.w_c(coverage.unsqueeze(2))
            e = self.v(torch.tanh(scores)).squeeze(2) + neg_mask
            attn = F.softmax(e, 1)
            context = torch.bmm(attn.unsqueeze(1), out).squeeze(1)
            covs.append(torch.minimum(attn, coverage).sum(1))
            coverage = coverage + attn
            hs.append(h), ctxs.append(context), ss.append(s), xs.append(x), attns.append(attn)
        rows = lambda v: torch.stack(v, 1).reshape(b * j, -1)
        ctx_all = rows(ctxs)
        p_vocab = F.softmax(self.out2(self.out1(torch.cat([rows(hs), ctx_all], 1))), 1)
        pv = p_vocab.gather(1, target_vocab.reshape(-1, 1)) * target_in_vocab.reshape(-1, 1)
        p_gen = torch.sigmoid(self.p_gen(torch.cat([ctx_all, rows(ss), rows(xs)], 1)))
        p_copy = (torch.stack(attns, 1) * copy_mask).sum(2).reshape(-1, 1)
        prob = p_gen * pv + (1 - p_gen) * p_copy
        nll = -torch.log(prob + 1e-10).reshape(b, j)
        per_example = lambda v: ((v * dec_mask).sum(1) / dec_lens).mean()
        loss = per_example(nll)
        if self.coverage:
            loss = loss + per_example(torch.stack(covs, 1))
        return loss


    def init_like_see(self, uniform=0.02, std=1e-4):
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("encoder") or name.startswith("decoder."):
                    p.uniform_(-uniform, uniform)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    nn.init.trunc_normal_(p, std=std, a=-2 * std, b=2 * std)

    @torch.no_grad()
    def beam_search(self, article, beam=4, min_len=35, max_len=100, start=2, stop=3, unk=1):
        """See et al.'s beam search over one article (ids in the fixed vocabulary, no OOVs)."""
        t = article.shape[0]
        out, (h_n, c_n) = self.encoder(self.embedding(article).unsqueeze(0))
        features = self.w_h(out)
        h = F.relu(self.reduce_h(torch.cat([h_n[0], h_n[1]], 1))).repeat(beam, 1)
        c = F.relu(self.reduce_c(torch.cat([c_n[0], c_n[1]], 1))).repeat(beam, 1)
        out, features = out.repeat(beam, 1, 1), features.repeat(beam, 1, 1)
        context = out.new_zeros(beam, 2 * self.hidden)
        coverage = out.new_zeros(beam, t)
        hyps = [([], 0.0)]
        results = []
        steps = 0
        for step in range(max_len):
            steps += 1
            prev = torch.tensor(device=article.device, data=[(hyps[r][0][-1] if hyps[r][0] else start) if r < len(hyps) else (hyps[0][0][-1] if hyps[0][0] else start) for r in range(beam)])
            x = self.decoder_input(torch.cat([self.embedding(prev), context], 1))
            h, c = self.decoder(x, (h, c))
            s = torch.cat([c, h], 1)
            scores = features + self.w_s(s).unsqueeze(1)
            if self.coverage:
                scores = scores + self.w_c(coverage.unsqueeze(2))
            attn = F.softmax(self.v(torch.tanh(scores)).squeeze(2), 1)
            context = torch.bmm(attn.unsqueeze(1), out).squeeze(1)
            coverage = coverage + attn
            p_vocab = F.softmax(self.out2(self.out1(torch.cat([h, context], 1))), 1)
            p_gen = torch.sigmoid(self.p_gen(torch.cat([context, s, x], 1)))
            dist = (p_gen * p_vocab).scatter_add(1, article.unsqueeze(0).repeat(beam, 1), (1 - p_gen) * attn)
            dist[:, unk] = 0.0
            top_p, top_w = dist[: len(hyps)].topk(2 * beam, 1)
            allow_stop = step + 1 >= min_len
            cands = []
            for r, (tokens, lp) in enumerate(hyps):
                for p, w in zip(top_p[r].tolist(), top_w[r].tolist()):
                    cands.append((r, w, lp + math.log(max(p, 1e-20))))
            cands.sort(key=lambda cnd: -cnd[2] / (len(hyps[cnd[0]][0]) + 1))
            nxt, rows = [], []
            for r, w, lp in cands:
                if w == stop:
                    if allow_stop:
                        results.append((hyps[r][0] + [w], lp))
                else:
                    nxt.append((hyps[r][0] + [w], lp))
                    rows.append(r)
                if len(nxt) == beam or len(results) == beam:
                    break
            if len(results) >= beam or not nxt:
                break
            rows += [rows[0]] * (beam - len(rows))
            idx = torch.tensor(rows, device=article.device)
            h, c, context, coverage = h[idx], c[idx], context[idx], coverage[idx]
            hyps = nxt
        best = max(results or hyps, key=lambda hp: hp[1] / max(len(hp[0]), 1))
        return best[0], steps


def random_batch(vocab, batch, enc, dec, gen):
    ids = torch.randint(4, vocab, (batch, enc), generator=gen)
    enc_lens = torch.full((batch,), enc)
    dec_in = torch.randint(4, vocab, (batch, dec), generator=gen)
    target = torch.randint(4, vocab, (batch, dec), generator=gen)
    # A fifth of the targets also occur in the article, so the copy path carries gradient.
    copy_mask = (ids.unsqueeze(1) == target.unsqueeze(2)).float()
    copy_mask[:, ::5, 0] = 1.0
    return dict(
        enc=ids,
        enc_mask=torch.ones(batch, enc),
        enc_lens=enc_lens,
        dec_in=dec_in,
        target_vocab=target,
        target_in_vocab=torch.ones(batch, dec),
        copy_mask=copy_mask,
        dec_mask=torch.ones(batch, dec),
        dec_lens=torch.full((batch, 1), float(dec)),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=50000)
    p.add_argument("--emb", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--enc", type=int, default=400)
    p.add_argument("--dec", type=int, default=100)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--coverage", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU comparison")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = PointerGenerator(a.vocab, a.emb, a.hidden, a.coverage).to(dev)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.15, initial_accumulator_value=0.1)
    batch = random_batch(a.vocab, a.batch, a.enc, a.dec, torch.Generator().manual_seed(0))
    # pack_padded_sequence takes its lengths on the CPU.
    batch = {k: (v if k == "enc_lens" else v.to(dev)) for k, v in batch.items()}

    def step():
        opt.zero_grad()
        loss = model(**batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        return loss.item()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    per_step = (time.perf_counter() - t0) / a.steps
    tokens = a.batch * (a.enc + a.dec)
    # Beam-search latency on a fresh See-initialised model (as earthmover's bench times its own).
    decoder = PointerGenerator(a.vocab, a.emb, a.hidden, a.coverage).to(dev)
    decoder.init_like_see()
    decoder.eval()
    article = torch.tensor([4 + (i * 7) % (a.vocab - 4) for i in range(400)], device=dev)
    decoder.beam_search(article[:50], max_len=5)  # warm-up
    t1 = time.perf_counter()
    summary, beam_steps = decoder.beam_search(article)
    latency = time.perf_counter() - t1
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "device": a.device, "threads": a.threads, "seconds_per_step": per_step, "tokens_per_sec": tokens / per_step,
                      "latency_beam4_400_tokens_s": latency, "beam_steps": beam_steps, "summary_tokens": len(summary),
                      "config": {k: getattr(a, k) for k in ["vocab", "emb", "hidden", "batch", "enc", "dec", "coverage"]}}))


if __name__ == "__main__":
    main()
