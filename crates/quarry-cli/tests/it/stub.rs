//! A stub model: a real OpenAI-compatible HTTP server on 127.0.0.1 that the test starts and
//! that answers every chat request deterministically from the request alone, by filling the
//! JSON schema it was sent. It does not pretend to be smart; it makes the pipeline's output a
//! pure function of the input, so two builds can be compared byte for byte.
//!
//! What it writes, per property name of the schema:
//! - `question`: "Which w1 w2 w3 w4?" from content words of a sentence of the first passage
//!   (the n-th sentence for the n-th question of a conversation);
//! - a citation (`anyOf` of passage + quote `enum`): the quote sharing most words with the
//!   request's focus (its `Question:` line, else its last line with a `?`), the n-th best for
//!   the n-th item of an array;
//! - `answer`, `expert`, `text`: the quote cited beside it (so many answers verify);
//! - `learner`: a statement with words of its own from the passages;
//! - `subtopics`: capitalised words of the passages, and one topic no corpus holds;
//! - `supported`: true; any other string: a fixed sentence.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use serde_json::{Value, json};

/// A running stub; the server thread lives as long as the test process.
pub struct Stub {
    pub url: String,
}

impl Stub {
    pub fn start() -> Stub {
        Stub::start_slow(Duration::ZERO)
    }

    /// A stub that takes `delay` over every reply, so a run can be killed in the middle.
    pub fn start_slow(delay: Duration) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || serve(conn, delay));
            }
        });
        Stub { url }
    }
}

fn serve(conn: TcpStream, delay: Duration) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone the stream"));
    let mut conn = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(delay);
        let reply = if request_line.starts_with("GET") {
            json!({"object": "list", "data": [{"id": "stub", "object": "model"}]})
        } else {
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            chat(&req)
        };
        let bytes = serde_json::to_vec(&reply).expect("serialisable");
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: keep-alive\r\n\r\n",
            bytes.len()
        );
        if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&bytes)).is_err() {
            return;
        }
    }
}

/// The reply to one chat request.
pub fn chat(req: &Value) -> Value {
    let user: String = req["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["role"] == "user").filter_map(|m| m["content"].as_str()).collect())
        .unwrap_or_default();
    let schema = &req["response_format"]["json_schema"]["schema"];
    let content = if schema.is_object() {
        let ctx = Context::new(&user);
        serde_json::to_string(&ctx.fill(schema, "", 0)).expect("serialisable")
    } else {
        "The stub model answers only structured requests.".to_owned()
    };
    json!({
        "id": "stub",
        "object": "chat.completion",
        "model": req["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": user.len() / 4, "completion_tokens": content.len() / 4}
    })
}

struct Context {
    /// The passages of the prompt, in order (a conversation so far is not one).
    passages: Vec<String>,
    /// Questions asked so far in the conversation the prompt holds (0 without one).
    asked: usize,
    /// Words the reply should be about.
    focus: HashSet<String>,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3).map(str::to_lowercase).collect()
}

impl Context {
    fn new(user: &str) -> Context {
        let mut passages = Vec::new();
        let mut asked = 0;
        let mut rest = user;
        while let Some(i) = rest.find("<<<PASSAGE\n") {
            let history = rest[..i].trim_end().ends_with("Conversation so far:");
            let after = &rest[i + "<<<PASSAGE\n".len()..];
            let end = after.find("\nPASSAGE>>>").unwrap_or(after.len());
            if history {
                asked = after[..end].lines().filter(|l| l.starts_with("user: ")).count();
            } else {
                passages.push(after[..end].to_owned());
            }
            rest = &after[end..];
        }
        let focus_line = user
            .lines()
            .find_map(|l| l.strip_prefix("Question: ").or_else(|| l.strip_prefix("Next question: ")))
            .or_else(|| {
                let l = user.lines().find_map(|l| l.strip_prefix("Write a short textbook section about "))?;
                Some(l.split(" in ").next().unwrap_or(l))
            })
            .unwrap_or_default();
        Context { passages, asked, focus: words(focus_line).into_iter().collect() }
    }

    fn overlap(&self, s: &str) -> usize {
        words(s).iter().filter(|w| self.focus.contains(*w)).count()
    }

    /// Content words of the passages, in order, each once.
    fn passage_words(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.passages.iter().flat_map(|p| words(p)).filter(|w| w.len() > 4 && seen.insert(w.clone())).collect()
    }

    fn fill(&self, s: &Value, name: &str, nth: usize) -> Value {
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(choices) = s.get("anyOf").and_then(Value::as_array) {
            return self.cite(choices, nth, 0);
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            return e.first().cloned().unwrap_or(Value::Null);
        }
        match s["type"].as_str() {
            Some("object") => {
                let mut out = serde_json::Map::new();
                let props = s["properties"].as_object().cloned().unwrap_or_default();
                // A paragraph quotes a sentence long enough to be one.
                let min = props.get("text").and_then(|t| t["minLength"].as_u64()).unwrap_or(0) as usize;
                for (k, v) in &props {
                    if k == "citations" {
                        let n = v["minItems"].as_u64().unwrap_or(1).max(1) as usize;
                        let choices = v["items"]["anyOf"].as_array().cloned().unwrap_or_default();
                        let cited: Vec<Value> = (0..n).map(|i| self.cite(&choices, nth + i, min)).collect();
                        out.insert(k.clone(), Value::Array(cited));
                    } else if k != "answer" && k != "expert" && k != "text" {
                        out.insert(k.clone(), self.fill(v, k, nth));
                    }
                }
                let quote = out
                    .get("citations")
                    .and_then(|c| c[0]["quote"].as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| "The stub model does not know the answer to that.".into());
                for k in ["answer", "expert", "text"] {
                    if props.contains_key(k) {
                        let min = props[k]["minLength"].as_u64().unwrap_or(0) as usize;
                        let mut t = quote.clone();
                        if t.len() < min {
                            t = format!("{t} The passage says so in these words.");
                        }
                        out.insert(k.into(), json!(t));
                    }
                }
                Value::Object(out)
            }
            Some("array") => {
                let n = s["minItems"].as_u64().unwrap_or(1).max(1) as usize;
                if name == "subtopics" {
                    return self.subtopics(n);
                }
                Value::Array((0..n).map(|i| self.fill(&s["items"], name, nth + i)).collect())
            }
            Some("boolean") => json!(true),
            Some("integer") | Some("number") => json!(1),
            _ => match name {
                "question" => json!(self.question()),
                "learner" => json!(self.learner(nth)),
                _ => json!("The stub model has nothing to say about it."),
            },
        }
    }

    /// The `nth` best (passage, quote) choice by overlap with the focus, among quotes of at
    /// least `min` bytes when there are such.
    fn cite(&self, choices: &[Value], nth: usize, min: usize) -> Value {
        let mut all: Vec<(usize, usize, Value, Value)> = Vec::new();
        for (i, c) in choices.iter().enumerate() {
            let passage = c["properties"]["passage"]["const"].clone();
            for q in c["properties"]["quote"]["enum"].as_array().into_iter().flatten() {
                all.push((self.overlap(q.as_str().unwrap_or_default()), i, passage.clone(), q.clone()));
            }
        }
        if all.iter().any(|(_, _, _, q)| q.as_str().unwrap_or_default().len() >= min) {
            all.retain(|(_, _, _, q)| q.as_str().unwrap_or_default().len() >= min);
        }
        // Most overlap first; ties in the order offered.
        all.sort_by_key(|(n, i, _, _)| (std::cmp::Reverse(*n), *i));
        match all.get(nth % all.len().max(1)) {
            Some((_, _, passage, quote)) => json!({"passage": passage, "quote": quote}),
            None => json!({"passage": 1, "quote": ""}),
        }
    }

    fn question(&self) -> String {
        let first = self.passages.first().map(String::as_str).unwrap_or_default();
        let sentences: Vec<&str> = first.split(". ").filter(|s| words(s).len() >= 4).collect();
        let sentence = sentences.get(self.asked % sentences.len().max(1)).copied().unwrap_or(first);
        let w: Vec<String> = words(sentence).into_iter().take(4).collect();
        if w.len() < 2 {
            return "Which subject does this concern most?".into();
        }
        format!("Which {}?", w.join(" "))
    }

    fn learner(&self, nth: usize) -> String {
        let w = self.passage_words();
        let pick: Vec<&str> = w.iter().skip(nth * 3).take(3).map(String::as_str).collect();
        format!("I have read a little about {} and would like to hear more.", pick.join(", "))
    }

    fn subtopics(&self, n: usize) -> Value {
        let mut names: Vec<String> = self
            .passage_words()
            .into_iter()
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
            .take(n.saturating_sub(1))
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect();
        names.push("Quantum chromodynamics".into());
        for filler in ["Further notes", "Other matters", "Open questions", "Related work"] {
            if names.len() >= n {
                break;
            }
            names.insert(0, filler.to_owned());
        }
        json!(names)
    }
}
