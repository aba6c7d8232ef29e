"""How much of an unpaired model's hidden summaries is the document's lead.

Reads the JSON lines `earthmover unpaired eval --out FILE` writes (document, lead, model,
reference per pair) and prints how many model summaries are exactly the document's first words
or start at its first word, and ROUGE-1/2 F1 (rouge-score, no stemming) of the model, of Lead-N
at the model's mean length, and of Lead-N after CNN's "( cnn ) --" dateline.

    earthmover unpaired eval --model public/models/unpaired-news.safetensors --corpus cnndm \
        --data ../shared/data/cnndm --split val --target-len 9 --out val.jsonl
    .venv/bin/python scripts/unpaired_copying.py val.jsonl
"""
import json
import sys

from rouge_score import rouge_scorer


def after_dateline(words):
    """The words after a '( cnn )' (and a following '--') within the first 8 tokens."""
    for i in range(min(len(words) - 2, 8)):
        if words[i:i + 3] == ["(", "cnn", ")"]:
            j = i + 3 + (i + 3 < len(words) and words[i + 3] in ("--", "-"))
            return words[j:], True
    return words, False


def main(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    n = len(rows)
    length = round(sum(len(r["model"].split()) for r in rows) / max(n, 1))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=False)
    totals = {"model": [0.0, 0.0], f"lead-{length}": [0.0, 0.0],
              f"lead-{length} after the dateline": [0.0, 0.0]}
    exact = first = dated = 0
    for r in rows:
        doc, model = r["document"].split(), r["model"].split()
        exact += model == doc[:len(model)]
        first += model[:1] == doc[:1]
        rest, had = after_dateline(doc)
        dated += had
        for name, text in zip(totals, (model, doc[:length], rest[:length])):
            s = scorer.score(r["reference"], " ".join(text))
            totals[name][0] += s["rouge1"].fmeasure
            totals[name][1] += s["rouge2"].fmeasure
    print(f"{n} pairs; model summaries of {length} words on average")
    print(f"exactly the document's first words: {exact} ({100 * exact / n:.1f}%)")
    print(f"starting at the document's first word: {first} ({100 * first / n:.1f}%)")
    print(f"documents with a '( cnn )' dateline: {dated} ({100 * dated / n:.1f}%)")
    for name, (r1, r2) in totals.items():
        print(f"{name}: ROUGE-1 {100 * r1 / n:.2f}, ROUGE-2 {100 * r2 / n:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
