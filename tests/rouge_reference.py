"""Scores candidate/reference pairs with Google's rouge-score.

Input: a JSON file {"cands": [...], "refs": [...]}. Output (stdout): JSON
{"stem": {"per_pair": [[r1, r2, rL], ...], "mean": [r1, r2, rL]},
 "nostem": {...}} with F1 x 100.
"""
import json
import sys

from rouge_score import rouge_scorer


def run(cands, refs, stem):
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stem)
    rows = []
    for c, r in zip(cands, refs):
        s = scorer.score(r, c)  # score(target, prediction)
        rows.append([100 * s["rouge1"].fmeasure, 100 * s["rouge2"].fmeasure, 100 * s["rougeL"].fmeasure])
    n = max(len(rows), 1)
    mean = [sum(row[k] for row in rows) / n for k in range(3)]
    return {"per_pair": rows, "mean": mean}


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    out = {name: run(data["cands"], data["refs"], stem) for name, stem in (("stem", True), ("nostem", False))}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
