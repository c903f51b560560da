#!/usr/bin/env python3
"""Renders judged-set items for reading: question, answer, the cited quotes and the passages.

    scripts/judged-render.py items.jsonl [--skip-judged judgments.jsonl] > batch.md

What quarry decided ("generated") is left out on purpose: a judge reads the record and its
evidence, never the verdict.
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("items")
    ap.add_argument("--skip-judged")
    a = ap.parse_args()
    done = set()
    if a.skip_judged:
        done = {json.loads(l)["id"] for l in open(a.skip_judged) if l.strip()}
    for line in open(a.items):
        it = json.loads(line)
        if it["id"] in done:
            continue
        print(f"## {it['id']}")
        print(f"task: {it['task']}")
        print(f"QUESTION: {it['question']}")
        print(f"ANSWER: {it['answer']}")
        for c in it["citations"]:
            print(f"CITED [{c['passage']}]: {c['quote']!r}")
        for i, p in enumerate(it["passages"], 1):
            head = " > ".join(p["heading_path"]) or p["doc_title"]
            print(f"--- passage [{i}] {p['doc_title']} | {head}")
            print(p["text"].strip())
        print()


if __name__ == "__main__":
    main()
