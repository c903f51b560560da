#!/usr/bin/env python3
"""Convert the shared QA datasets (SQuAD v1.1 dev, HotpotQA distractor dev) into
BEIR-format folders for retrieval evaluation.

Usage:
    python3 scripts/make-beir.py squad    [SQUAD_DEV_JSON]  [OUT_DIR]
    python3 scripts/make-beir.py hotpotqa [HOTPOT_JSON]     [OUT_DIR]

Defaults: input ../shared/data/squad/dev-v1.1.json or
../shared/data/hotpotqa/hotpot_dev_distractor_v1.first53.json (relative to the
repo root), output indexes/beir/squad or indexes/beir/hotpotqa.

Each OUT_DIR gets corpus.jsonl ({"_id","title","text"} per line),
queries.jsonl ({"_id","text"} per line) and qrels/test.tsv (header
"query-id<TAB>corpus-id<TAB>score", score always 1).

  squad:    one document per paragraph (id squad-<article>-<paragraph>, title =
            article title with "_" -> " "); one query per question (id = SQuAD
            id); its single relevant document is its own paragraph.
  hotpotqa: one document per distinct (title, text) context paragraph, text =
            the sentences concatenated as given (they carry their own leading
            spaces), ids hotpot-<n> in first-seen order; one query per question
            (id = HotpotQA _id); relevant documents are that question's context
            paragraphs whose titles appear in its supporting_facts.

Output is deterministic (input order, fixed key order, ensure_ascii=False, "\\n"
line ends) and every file is written atomically (temp file + os.replace).
Python 3 standard library only.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA = os.path.join(REPO, "..", "shared", "data")

DEFAULTS = {
    "squad": (
        os.path.join(DATA, "squad", "dev-v1.1.json"),
        os.path.join(REPO, "indexes", "beir", "squad"),
    ),
    "hotpotqa": (
        os.path.join(DATA, "hotpotqa", "hotpot_dev_distractor_v1.first53.json"),
        os.path.join(REPO, "indexes", "beir", "hotpotqa"),
    ),
}

# sha256 of the known shared input files -> expected (documents, queries, qrels).
# For these files the counts are asserted; for any other input a mismatch only warns.
KNOWN = {
    "squad": (
        "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9",
        (2067, 10570, 10570),
    ),
    "hotpotqa": (
        "1a02638a3deaf2c6641d05b6a2bd923d589be8e58b33ed6d018beb21952c8553",
        # 522 context paragraphs (52 x 10 + 1 x 2); one ("Loan modification in
        # the United States") appears in two questions -> 521 documents.
        (521, 53, 106),
    ),
}


def die(msg):
    print("make-beir: error: " + msg, file=sys.stderr)
    sys.exit(1)


def warn(msg):
    print("make-beir: warning: " + msg, file=sys.stderr)


def convert_squad(data):
    """Returns (docs, queries, qrels): lists of dicts / (qid, docid) tuples."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        die("not a SQuAD file: expected an object with a 'data' list")
    docs, queries, qrels = [], [], []
    seen_q = set()
    for ai, article in enumerate(data["data"]):
        title = article["title"].replace("_", " ")
        for pi, para in enumerate(article["paragraphs"]):
            doc_id = "squad-%d-%d" % (ai, pi)
            docs.append({"_id": doc_id, "title": title, "text": para["context"]})
            for qa in para["qas"]:
                qid = qa["id"]
                if qid in seen_q:
                    die("duplicate SQuAD question id %r" % qid)
                seen_q.add(qid)
                queries.append({"_id": qid, "text": qa["question"]})
                qrels.append((qid, doc_id))
    return docs, queries, qrels


def convert_hotpotqa(data):
    if not isinstance(data, list):
        die("not a HotpotQA file: expected a top-level list of examples")
    docs, queries, qrels = [], [], []
    doc_ids = {}  # (title, text) -> id, first-seen order
    seen_q = set()
    for ex in data:
        qid = ex["_id"]
        if qid in seen_q:
            die("duplicate HotpotQA _id %r" % qid)
        seen_q.add(qid)
        queries.append({"_id": qid, "text": ex["question"]})
        # title -> doc ids of this question's context paragraphs
        by_title = {}
        ordered = []
        for title, sentences in ex["context"]:
            text = "".join(sentences).strip()
            key = (title, text)
            doc_id = doc_ids.get(key)
            if doc_id is None:
                doc_id = "hotpot-%d" % len(doc_ids)
                doc_ids[key] = doc_id
                docs.append({"_id": doc_id, "title": title, "text": text})
            by_title.setdefault(title, []).append(doc_id)
            ordered.append((title, doc_id))
        sup_titles = {t for t, _ in ex["supporting_facts"]}
        missing = sorted(sup_titles - set(by_title))
        if missing:
            warn("question %s: supporting titles not in its context: %s"
                 % (qid, ", ".join(missing)))
        # relevant docs in context order, each once
        rel = []
        for title, doc_id in ordered:
            if title in sup_titles and doc_id not in rel:
                rel.append(doc_id)
        if not rel:
            warn("question %s has no relevant document" % qid)
        for doc_id in rel:
            qrels.append((qid, doc_id))
    return docs, queries, qrels


def write_atomic(path, text):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main():
    ap = argparse.ArgumentParser(
        description="Convert SQuAD / HotpotQA into BEIR folders.")
    ap.add_argument("dataset", choices=sorted(DEFAULTS))
    ap.add_argument("input", nargs="?", help="dataset JSON file")
    ap.add_argument("out_dir", nargs="?", help="output BEIR folder")
    args = ap.parse_args()

    src = args.input or DEFAULTS[args.dataset][0]
    out = args.out_dir or DEFAULTS[args.dataset][1]
    try:
        with open(src, "rb") as f:
            raw = f.read()
    except OSError as e:
        die("cannot read %s: %s" % (src, e))
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        die("cannot parse %s as JSON: %s" % (src, e))

    try:
        if args.dataset == "squad":
            docs, queries, qrels = convert_squad(data)
        else:
            docs, queries, qrels = convert_hotpotqa(data)
    except (KeyError, TypeError, ValueError) as e:
        die("unexpected %s structure in %s: %r" % (args.dataset, src, e))

    got = (len(docs), len(queries), len(qrels))
    known_sha, expected = KNOWN[args.dataset]
    if digest == known_sha:
        assert got == expected, (
            "%s: got documents/queries/qrels %r, expected %r"
            % (args.dataset, got, expected))
    elif got != expected:
        warn("input is not the known shared %s file (sha256 %s...); counts "
             "documents/queries/qrels %r differ from the reference %r"
             % (args.dataset, digest[:16], got, expected))

    ids = [d["_id"] for d in docs]
    assert len(set(ids)) == len(ids), "duplicate document ids"

    qrels_tsv = "query-id\tcorpus-id\tscore\n" + "".join(
        "%s\t%s\t1\n" % (q, d) for q, d in qrels)
    write_atomic(os.path.join(out, "corpus.jsonl"), jsonl(docs))
    write_atomic(os.path.join(out, "queries.jsonl"), jsonl(queries))
    write_atomic(os.path.join(out, "qrels", "test.tsv"), qrels_tsv)

    print("%s: %d documents, %d queries, %d qrels -> %s"
          % (args.dataset, got[0], got[1], got[2], out))


if __name__ == "__main__":
    main()
