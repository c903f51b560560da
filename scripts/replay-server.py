#!/usr/bin/env python3
"""A replay model for quarry: an OpenAI-compatible HTTP server on 127.0.0.1 that answers
quarry's own question and answer prompts from SQuAD dev gold, so the pipeline can be measured
with a model that answers perfectly (or, in the `wrong` style, plausibly wrong).

    scripts/replay-server.py SQUAD_JSON CORPUS_INDEX_JSON PORT STYLE

SQuAD's format in any language (XQuAD's Hindi file reads the same way).

STYLE:
  short     the gold answer as a short answer ("Budapest."), citing the sentence that holds it
  sentence  the sentence that holds the gold answer, cited
  wrong     the answer of another question about the same paragraph, citing its sentence
  english   an English sentence citing the gold sentence, as a model that ignores the language it
            was asked for writes it (for a corpus in another language)

A question request (schema with "question") gets a human SQuAD question of the seed passage's
paragraph, picked by the request's seed; for sentence-first planning (`--plan sentence`, whose
prompt shows the passage and then the sentence to ask about), one whose gold answer is in that
sentence, as a perfect model would ask. An answer request (schema with "citations") gets the
gold answer of the question in its "Question:" line, citing the offered quote (the schema's
enum) that holds it in the passage that is the gold paragraph, else in any shown passage.
A judge request gets {"supported": true}. GET /stats returns counts of what was asked.
REPLAY_DELAY=SECONDS makes every reply that slow.
"""

import json
import re
import sys
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

squad_path, corpus_path, port, style = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# REPLAY_DELAY: seconds every reply takes (a slow server, so a test can stop it mid-run).
DELAY = float(os.environ.get("REPLAY_DELAY", "0"))
assert style in ("short", "sentence", "wrong", "english"), style

def key(question):
    return question.strip().rstrip("?").strip()


# The paragraphs of the corpus (as written by bench-replay.sh) with their questions.
paragraphs = json.load(open(corpus_path))  # [{"context": ..., "qas": [{"question", "answers"}]}]
by_question = {}
for p in paragraphs:
    for q in p["qas"]:
        by_question[key(q["question"])] = (p, q)

# Which language each request asked for (the prompts' {{language}}), by name.
LANGUAGES = ("English", "Hindi", "Marathi", "Chinese", "Thai", "the language of the passages")
stats = {"asked_in": {}, "question": 0, "question_unknown_passage": 0, "question_for_sentence": 0, "question_no_gold_in_sentence": 0, "answer": 0, "answer_unknown_question": 0,
         "answer_gold_not_shown": 0, "answer_no_quote_holds_it": 0, "judge": 0, "other": 0}
lock = threading.Lock()


def count(k):
    with lock:
        stats[k] += 1


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def passages(user):
    """The passages of a prompt, in order, between <<<PASSAGE and PASSAGE>>>."""
    return [norm(m) for m in re.findall(r"<<<PASSAGE\n(.*?)\nPASSAGE>>>", user, re.S)]


def paragraph_of(text):
    key = norm(text)[:120]
    for p in paragraphs:
        if key and key in norm(p["context"]):
            return p
    return None


def choices(schema):
    """(passage number, [quotes]) offered by a citations schema."""
    cit = schema["properties"]["citations"]
    out = []
    for c in cit["items"]["anyOf"]:
        out.append((c["properties"]["passage"]["const"], c["properties"]["quote"]["enum"]))
    return out


def words(s):
    return set(w.lower() for w in re.findall(r"\w+", s) if len(w) > 2)


def cite(schema, shown, paragraph, answer):
    """The offered (passage, quote) holding `answer`: in the gold paragraph's passage first."""
    offered = choices(schema)
    gold = [i + 1 for i, t in enumerate(shown) if paragraph is not None and t and t[:80] in norm(paragraph["context"])]
    if not gold:
        count("answer_gold_not_shown")
    for n, quotes in sorted(offered, key=lambda c: (c[0] not in gold, c[0])):
        for q in quotes:
            if answer.lower() in q.lower():
                return n, q
    count("answer_no_quote_holds_it")
    best = max(((len(words(q) & words(answer)), -n, n, q) for n, quotes in offered for q in quotes), default=None)
    return (best[2], best[3]) if best else (1, "")


def reply_for(body):
    user = "".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user")
    rf = body.get("response_format") or {}
    schema = (rf.get("json_schema") or {}).get("schema") or rf.get("schema") or {}
    props = schema.get("properties", {})
    shown = passages(user)
    # The instruction part of the prompt (the passages are corpus text, not instructions).
    instructions = re.sub(r"<<<PASSAGE\n.*?\nPASSAGE>>>", "", user, flags=re.S)
    for name in LANGUAGES:
        if f"in {name}" in instructions:
            with lock:
                stats["asked_in"][name] = stats["asked_in"].get(name, 0) + 1
            break
    if "question" in props:
        count("question")
        p = paragraph_of(shown[0]) if shown else None
        if p is None:
            count("question_unknown_passage")
            return {"question": "What is this passage about?"}
        qs = p["qas"]
        # Sentence-first planning (the prompt shows the passage, then the sentence to ask
        # about): a perfect model asks a human question whose gold answer is in that sentence.
        if len(shown) >= 2 and "this sentence" in user:
            target = shown[1]
            fits = [q for q in qs if any(a["text"] in target for a in q["answers"])]
            if fits:
                count("question_for_sentence")
                qs = fits
            else:
                count("question_no_gold_in_sentence")
        # A model held to the schema ends its question with "?"; some SQuAD questions do not.
        return {"question": key(qs[(body.get("seed") or 0) % len(qs)]["question"]) + "?"}
    if "citations" in props:
        count("answer")
        m = re.search(r"^Question: (.*)$", user, re.M)
        found = by_question.get(key(m.group(1))) if m else None
        if found is None:
            count("answer_unknown_question")
            n, q = cite(schema, shown, None, "")
            return {"citations": [{"passage": n, "quote": q}], "answer": "I do not know."}
        p, qa = found
        answer = qa["answers"][0]["text"]
        if style == "wrong":
            others = [o["answers"][0]["text"] for o in p["qas"] if o["answers"][0]["text"].lower() != answer.lower()]
            answer = others[len(answer) % len(others)] if others else answer
        n, quote = cite(schema, shown, p, answer)
        out = {"citations": [{"passage": n, "quote": quote}]}
        if "answer" in props:
            if style == "english":
                out["answer"] = f"The answer to this question is in passage {n}, in the sentence quoted there."
            else:
                out["answer"] = quote if style == "sentence" else answer.rstrip(".") + "."
        return out
    if "supported" in props:
        count("judge")
        return {"supported": True}
    count("other")
    return {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.endswith("/stats"):
            with lock:
                self.send(json.loads(json.dumps(stats)))
        else:
            self.send({"object": "list", "data": [{"id": "replay", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if DELAY:
            time.sleep(DELAY)
        content = json.dumps(reply_for(body))
        self.send({
            "id": "replay", "object": "chat.completion", "model": body.get("model", "replay"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": len(content) // 4},
        })


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
