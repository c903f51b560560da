#!/usr/bin/env python3
"""Turns run directories into items of the judged-records set (tests/judged/).

    scripts/judged-extract.py RUN_DIR INDEX_DIR --corpus NAME --part tuning|held_out \
        --source embedded|replay-short|... [--quarry BIN] >> items.jsonl

Each item is one question with its answer, as quarry produced it, self-contained: the raw
citations (passage number and the model's quote), the passages shown to the model (text,
title, heading path, byte offset), and the seed chunks' texts. Accepted records and rejects
that got as far as an answer both become items; a reject that stopped at the question (no
answer) does not. What quarry decided is kept under "generated" for the record only: judges
read question, answer and evidence, never that field.

A reject does not list the passages retrieval gave it, so they are found again with the same
hybrid search (`quarry search --mode hybrid --k K`), which is deterministic for an index.
Multi-turn records give one item per assistant turn (the user turn before it is the
question); a pretrain passage gives one item per paragraph (its topic is the question).
"""
import argparse
import json
import os
import subprocess
import sys


def load_chunks(quarry, index):
    out = subprocess.run([quarry, "inspect", index, "--jsonl", "-q"], check=True, capture_output=True, text=True).stdout
    docs, chunks = {}, {}
    for line in out.splitlines():
        o = json.loads(line)
        if o["type"] == "document":
            docs[o["id"]] = o["title"]
        else:
            chunks[o["id"]] = o
    return docs, chunks


def passage(chunks, docs, cid):
    c = chunks[cid]
    return {
        "chunk_id": cid,
        "doc_id": c["doc_id"],
        "doc_title": docs.get(c["doc_id"], ""),
        "heading_path": c["heading_path"],
        "chunk_start": c["span"][0],
        "text": c["text"],
    }


def search(quarry, index, question, k):
    out = subprocess.run(
        [quarry, "search", question, "--index", index, "--mode", "hybrid", "--k", str(k), "--json", "-q"],
        check=True, capture_output=True, text=True,
    ).stdout
    return [h["chunk_id"] for h in json.loads(out)["hits"]]


def raw_from_citations(cites, ids):
    raw = []
    for c in cites:
        if c["chunk_id"] in ids:
            raw.append({"passage": ids.index(c["chunk_id"]) + 1, "quote": c.get("model_quote") or c["quote"]})
    return raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("index")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--part", required=True, choices=["tuning", "held_out"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--quarry", default=os.path.expanduser("~/.cache/quarry/target/debug/quarry"))
    a = ap.parse_args()
    docs, chunks = load_chunks(a.quarry, a.index)
    run = json.load(open(os.path.join(a.run, "run.json")))
    k = run.get("config", {}).get("k", 4)
    extractive = bool(run.get("config", {}).get("extractive", False))
    name = os.path.basename(os.path.normpath(a.run))
    base = {"corpus": a.corpus, "part": a.part, "source": a.source, "task": run["task"], "extractive": extractive}

    def item(rid, question, answer, raw, ids, seeds, generated):
        return {
            "id": f"{a.corpus}/{name}/{rid}",
            **base,
            "question": question,
            "answer": answer,
            "citations": raw,
            "passages": [passage(chunks, docs, i) for i in ids if i in chunks],
            "seed_texts": [chunks[s]["text"] for s in seeds if s in chunks],
            "generated": generated,
        }

    n = 0
    for line in open(os.path.join(a.run, "records.jsonl")):
        r = json.loads(line)
        gen = {"accepted": True, "verdict": r["verdict"]}
        turns = r.get("turns") or []
        if not turns or run["task"] in ("qa", "followup", "dpo"):
            ids = r["passages"]
            print(json.dumps(item(r["id"], r["question"], r["answer"], raw_from_citations(r["citations"], ids), ids,
                                  r["seed_chunks"], gen)))
            n += 1
            continue
        prev = r["question"]
        for t, turn in enumerate(turns):
            if turn["role"] == "user":
                prev = turn["content"]
                continue
            ids = turn.get("passages") or r["passages"]
            print(json.dumps(item(f"{r['id']}#{t}", prev, turn["content"], raw_from_citations(turn["citations"], ids),
                                  ids, r["seed_chunks"], gen)))
            n += 1
    for line in open(os.path.join(a.run, "rejects.jsonl")):
        r = json.loads(line)
        if not r.get("answer") or not r.get("question") or r["reason"] == "duplicate":
            continue
        try:
            reply = json.loads(r.get("raw") or "{}")
        except json.JSONDecodeError:
            reply = {}
        cites = reply.get("citations") if isinstance(reply, dict) else None
        raw = [{"passage": int(c["passage"]), "quote": c["quote"]} for c in cites or []
               if isinstance(c, dict) and "passage" in c and "quote" in c]
        if run["task"] != "qa" or not raw:
            continue
        ids = search(a.quarry, a.index, r["question"], k)
        gen = {"accepted": False, "stage": r["stage"], "reason": r["reason"], "detail": r.get("detail", "")}
        print(json.dumps(item(r["id"], r["question"], r["answer"], raw, ids, r["seed_chunks"], gen)))
        n += 1
    print(f"{a.run}: {n} items", file=sys.stderr)


if __name__ == "__main__":
    main()
