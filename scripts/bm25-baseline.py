#!/usr/bin/env python3
"""A plain BM25 baseline on a BEIR folder, to hold quarry's retrieval against; prints JSON.

    scripts/bm25-baseline.py BEIR_DIR [--bigrams]

Documents are title + text, whole (not chunked). Words are runs of Unicode letters, digits and
combining marks, lower-cased; with --bigrams, runs of scripts written without spaces (Han, Kana,
Thai, Lao, Khmer, Myanmar) become overlapping character bigrams. BM25 with k1 0.9, b 0.4
(Anserini's defaults). Prints nDCG@10 and recall@5 over the qrels. Python standard library only.
"""
import json
import math
import re
import sys
import unicodedata
from collections import Counter

UNSPACED = [(0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF), (0x3040, 0x30FF),
            (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
            (0x20000, 0x2FA1F)]


def unspaced(c):
    o = ord(c)
    return any(a <= o <= b for a, b in UNSPACED)


def words(text, bigrams):
    out, word, run = [], "", []

    def flush_run():
        if len(run) == 1:
            out.append(run[0])
        out.extend(run[i] + run[i + 1] for i in range(len(run) - 1))
        run.clear()

    for c in text.lower():
        cat = unicodedata.category(c)
        if bigrams and unspaced(c):
            if word:
                out.append(word)
                word = ""
            if cat.startswith("M") and run:
                run[-1] += c
            else:
                run.append(c)
        elif cat[0] in "LNM":
            flush_run()
            word += c
        else:
            flush_run()
            if word:
                out.append(word)
                word = ""
    flush_run()
    if word:
        out.append(word)
    return out


def main():
    d = sys.argv[1]
    bigrams = "--bigrams" in sys.argv
    docs = [json.loads(l) for l in open(f"{d}/corpus.jsonl", encoding="utf-8")]
    queries = [json.loads(l) for l in open(f"{d}/queries.jsonl", encoding="utf-8")]
    rel = {}
    for line in list(open(f"{d}/qrels/test.tsv", encoding="utf-8"))[1:]:
        q, c, s = line.rstrip("\n").split("\t")
        if int(s) > 0:
            rel.setdefault(q, set()).add(c)
    toks = [Counter(words(f"{x.get('title', '')} {x['text']}", bigrams)) for x in docs]
    lens = [sum(t.values()) for t in toks]
    avg = sum(lens) / len(lens)
    df = Counter(w for t in toks for w in t)
    n = len(docs)
    k1, b = 0.9, 0.4
    ndcg, r5 = 0.0, 0.0
    for q in queries:
        qw = set(words(q["text"], bigrams))
        scores = []
        for i, t in enumerate(toks):
            s = 0.0
            for w in qw:
                if w in t:
                    idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                    s += idf * t[w] * (k1 + 1) / (t[w] + k1 * (1 - b + b * lens[i] / avg))
            scores.append((s, -i))
        ranked = [docs[-i]["_id"] for s, i in sorted(scores, reverse=True)[:10] if s > 0]
        good = rel.get(q["_id"], set())
        dcg = sum(1 / math.log2(r + 2) for r, c in enumerate(ranked) if c in good)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(good), 10)))
        ndcg += dcg / ideal if ideal else 0
        r5 += len(good & set(ranked[:5])) / len(good) if good else 0
    print(json.dumps({"dataset": d, "bigrams": bigrams, "queries": len(queries),
                      "ndcg_at_10": round(ndcg / len(queries), 4), "recall_at_5": round(r5 / len(queries), 4)}))


if __name__ == "__main__":
    main()
