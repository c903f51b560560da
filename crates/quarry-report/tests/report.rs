//! The report, terminal view and exports over a small hand-built run whose corpus tries
//! to break out of HTML, JSON and terminals.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs;

use quarry_core::{
    Citation, QuoteMatch, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, SamplingRecord, Scores, SentenceSupport,
    Span, StageTimings, Task, TokenUsage, Verdict,
};
use quarry_report::{
    CardInfo, ChunkView, ExportFormat, RunView, export, needed_chunks, render_card, render_html,
    render_reject_terminal, render_terminal, size_category, write_html,
};
use serde_json::{Value, json};

const DOC_A: &str = "doc_a";
/// `">` etc. in an id, to test attribute escaping.
const DOC_B: &str = "doc_b\" onmouseover=\"alert(9)";
const CHUNK_A_START: usize = 1000;
const CHUNK_A: &str = "Intro & \"double\" 'single' <script>alert(1)</script> then </script> naïve — ü and a line\u{2028}separator. The flame burns <b>bright</b>.";
const CHUNK_B: &str = "Second document: <img src=x onerror=alert(2)> & more.";

fn span_of(chunk: &str, start: usize, quote: &str) -> Span {
    let at = chunk.find(quote).expect("quote in chunk");
    Span::new(start + at, start + at + quote.len()).unwrap()
}

fn citation(
    passage: u32,
    chunk_id: &str,
    doc_id: &str,
    title: &str,
    path: &[&str],
    quote: &str,
    span: Span,
) -> Citation {
    Citation {
        passage,
        chunk_id: chunk_id.into(),
        doc_id: doc_id.into(),
        doc_title: title.into(),
        heading_path: path.iter().map(|s| s.to_string()).collect(),
        quote: quote.into(),
        model_quote: quote.into(),
        span,
        match_kind: QuoteMatch::Exact,
        match_score: 1.0,
    }
}

fn sampling() -> SamplingRecord {
    SamplingRecord { temperature: 0.7, top_p: 0.9, max_tokens: 512, seed: 7 }
}

fn record(
    slot: u64,
    qtype: &str,
    verdict: Verdict,
    support: f32,
    question: &str,
    answer: &str,
    citations: Vec<Citation>,
) -> Record {
    Record {
        schema_version: RECORD_SCHEMA_VERSION,
        id: RecordId::new("run1", slot),
        task: Task::Qa,
        slot,
        question: question.into(),
        question_type: qtype.into(),
        answer: answer.into(),
        seed_chunks: citations.first().map(|c| vec![c.chunk_id.clone()]).unwrap_or_default(),
        passages: citations.iter().map(|c| c.chunk_id.clone()).collect(),
        citations,
        verdict,
        reasons: if verdict == Verdict::Supported { vec![] } else { vec!["sentence 2 is not supported <b>".into()] },
        scores: Scores {
            support,
            quote_match: 1.0,
            sentences: vec![SentenceSupport {
                sentence: answer.into(),
                lexical: support,
                semantic: -1.0,
                supported: support > 0.5,
            }],
            round_trip_rank: if slot == 0 { 1 } else { -1 },
            round_trip_hit: slot == 0,
            user_content_share: -1.0,
        },
        model: "qwen".into(),
        backend: "embedded".into(),
        question_sampling: sampling(),
        answer_sampling: sampling(),
        question_prompt_hash: "0123456789abcdef".into(),
        answer_prompt_hash: "fedcba9876543210".into(),
        usage: TokenUsage { prompt_tokens: 1200, completion_tokens: 80 },
        timings: StageTimings { question_ms: 900.0, retrieval_ms: 12.0, answer_ms: 1500.0, verify_ms: 40.0 },
        ..Record::default()
    }
}

fn fixture() -> RunView {
    let path_a = ["Lecture I", "The flame"];
    let script_quote = "<script>alert(1)</script>";
    let mut c1 = citation(
        1,
        "a-0",
        DOC_A,
        "Naïve <Tests> & \"Co\"",
        &path_a,
        script_quote,
        span_of(CHUNK_A, CHUNK_A_START, script_quote),
    );
    c1.model_quote = "script alert(1)".into();
    c1.match_kind = QuoteMatch::Fuzzy;
    c1.match_score = 0.83;
    let naive = "naïve — ü";
    let c_naive =
        citation(2, "a-0", DOC_A, "Naïve <Tests> & \"Co\"", &path_a, naive, span_of(CHUNK_A, CHUNK_A_START, naive));
    // Span past the chunk's end and a quote that is not in the chunk.
    let c_oob = citation(
        1,
        "a-0",
        DOC_A,
        "Naïve <Tests> & \"Co\"",
        &path_a,
        "not </script> here",
        Span::new(5000, 5017).unwrap(),
    );
    // Span starting before the chunk, inside a multi-byte character relative to it.
    let c_before = citation(2, "a-0", DOC_A, "Naïve <Tests> & \"Co\"", &[], "x", Span::new(3, 4).unwrap());
    // A chunk the view does not have.
    let c_missing = citation(3, "zz-9", "doc_z", "", &[], "lost </script> quote", Span::new(0, 19).unwrap());
    let amp = "& more";
    let c_b = citation(1, "b-0", DOC_B, "Doc <B>", &["Part 2"], amp, span_of(CHUNK_B, 0, amp));

    let records = vec![
        record(
            0,
            "factual",
            Verdict::Supported,
            0.92,
            "What does <script>alert(1)</script> do?",
            "It alerts & \"quotes\".",
            vec![c1],
        ),
        record(
            1,
            "explanatory",
            Verdict::Partial,
            0.55,
            "Why </script><script>alert(2)</script>?",
            "Because\u{2028}naïve — ü.",
            vec![c_naive, c_oob, c_before, c_missing],
        ),
        record(2, "multi_hop", Verdict::Unsupported, 0.05, "And 'B'?", "More & more.", vec![c_b]),
    ];
    let rejects = vec![Reject {
        schema_version: RECORD_SCHEMA_VERSION,
        id: RecordId::new("run1", 3),
        slot: 3,
        stage: "verify".into(),
        reason: "quote_not_found".into(),
        detail: "quote \"</script>\" not in passage 1".into(),
        question: "Is <script>alert(3)</script> there?".into(),
        question_type: "fac\"tual".into(),
        answer: "Yes </script>".into(),
        raw: "{\"answer\": \"</script><img src=x onerror=alert(4)>\"}".into(),
        seed_chunks: vec!["b-0".into()],
        verdict: Some(Verdict::Unsupported),
        support: 0.1,
        usage: TokenUsage { prompt_tokens: 900, completion_tokens: 40 },
        ..Reject::default()
    }];
    let mut chunks = HashMap::new();
    chunks.insert(
        "a-0".to_owned(),
        ChunkView {
            chunk_id: "a-0".into(),
            doc_id: DOC_A.into(),
            doc_title: "Naïve <Tests> & \"Co\"".into(),
            heading_path: path_a.iter().map(|s| s.to_string()).collect(),
            chunk_start: CHUNK_A_START,
            text: CHUNK_A.into(),
        },
    );
    chunks.insert(
        "b-0".to_owned(),
        ChunkView {
            chunk_id: "b-0".into(),
            doc_id: DOC_B.into(),
            doc_title: "Doc <B>".into(),
            heading_path: vec!["Part 2".into()],
            chunk_start: 0,
            text: CHUNK_B.into(),
        },
    );
    let run = json!({
        "run_id": "run1</script>",
        "task": "qa",
        "target": 4,
        "accepted": 3,
        "rejected": 1,
        "counts_by_verdict": {"supported": 1, "partial": 1, "unsupported": 2},
        "counts_by_reason": {"quote_not_found": 1},
        "usage": {"prompt_tokens": 4500, "completion_tokens": 280},
        "elapsed_s": 75.5,
        "model": "qwen <b>",
        "backend": "embedded",
        "index": "idx",
        "config": {"seed": 7, "types": ["factual", "multi_hop"], "nested": {"k": "<v>"}, "none": null},
        "extra": "<i>kept</i>"
    });
    RunView { run: serde_json::from_value(run).unwrap(), records, rejects, chunks, languages: Default::default() }
}

/// The tag names of every tag that opens or closes in `html`.
fn tag_names(html: &str) -> BTreeSet<String> {
    let b = html.as_bytes();
    let mut names = BTreeSet::new();
    for (i, _) in html.match_indices('<') {
        let rest = &b[i + 1..];
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        let name: String = rest.iter().take_while(|c| c.is_ascii_alphanumeric()).map(|&c| c as char).collect();
        if !name.is_empty() {
            names.insert(name.to_ascii_lowercase());
        }
    }
    names
}

#[test]
fn html_escapes_everything_and_shows_every_record() {
    let view = fixture();
    let html = render_html(&view);
    let lower = html.to_ascii_lowercase();

    // Only the report's own script element: one opening and one closing tag.
    assert_eq!(lower.matches("<script").count(), 1, "{html}");
    assert_eq!(lower.matches("</script").count(), 1);
    assert!(!html.contains("<script>alert"));
    assert!(!lower.contains("<img"));
    assert!(!html.contains("\" onmouseover="));
    let allowed: BTreeSet<String> =
        "html head meta title style body main h1 h2 h3 p span b nav a div table tr th td svg g \
        rect text line label select option article ul li details summary pre section mark code ol script \
        button input"
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    let tags = tag_names(&html);
    assert!(tags.is_subset(&allowed), "unexpected tags: {:?}", tags.difference(&allowed).collect::<Vec<_>>());
    // The `<script>` element holds no data, only the filter code.
    let script = &html[lower.find("<script>").unwrap()..lower.find("</script>").unwrap()];
    assert!(!script.contains("alert"));

    // Every record and reject, countable by a browser test.
    assert_eq!(html.matches("class=\"record\"").count(), 3);
    assert_eq!(html.matches("class=\"reject\"").count(), 1);
    for r in &view.records {
        assert!(html.contains(&format!("id=\"rec-{}\"", r.id)));
    }

    // The question's terms are marked in the cited text, and listed with those the evidence
    // never names struck out.
    assert!(html.contains("<mark>&lt;<span class=\"qt\">script</span>&gt;<span class=\"qt\">alert</span>("));
    assert!(html.contains("question terms in the evidence: <span class=\"qt\">script</span>"));
    let html = common::unmark(&html);
    // The quotes, escaped and highlighted inside their chunks.
    assert!(html.contains("<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark> then &lt;/script&gt; naïve"));
    assert!(html.contains("<mark>naïve — ü</mark>"));
    assert!(html.contains("Intro &amp; &quot;double&quot; &#39;single&#39;"));
    assert!(html.contains("line\u{2028}separator"));
    assert!(html.contains("<mark>&amp; more</mark>"));
    assert!(html.contains("Model's wording: “script alert(1)”"));
    // Citations that do not fit: the quote on its own, no panic.
    assert!(html.contains("The quote is not in the chunk text"));
    assert!(html.contains("<mark>not &lt;/script&gt; here</mark>"));
    assert!(html.contains("The chunk is not available"));
    assert!(html.contains("<mark>lost &lt;/script&gt; quote</mark>"));
    // A span that starts before the chunk (and a quote the chunk lacks): shown apart.
    assert!(html.contains("<mark>x</mark>"));

    // Headings, filters, attributes, summary.
    assert!(html.contains("Lecture I › The flame"));
    assert!(html.contains("data-qtype=\"fac&quot;tual\""));
    assert!(html.contains("data-docs=\"doc_b&quot; onmouseover=&quot;alert(9)\""));
    assert!(html.contains("<option value=\"multi_hop\">multi_hop</option>"));
    assert!(html.contains("<option value=\"rejected\">rejected</option>"));
    assert!(html.contains("Naïve &lt;Tests&gt; &amp; &quot;Co&quot;"));
    assert!(html.contains("<svg"));
    assert!(html.contains("4,500"));
    assert!(html.contains("1 min 16 s"));
    assert!(html.contains("&lt;i&gt;kept&lt;/i&gt;"));
    assert!(html.contains("&lt;v&gt;"));
    // counts_by_verdict in run.json differs from the records: both columns shown.
    assert!(html.contains("<th class=\"n\">run.json</th>"));
    assert!(!html.contains("http://") && !html.contains("https://"), "the report must not reference the network");
}

#[test]
fn html_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    write_html(&fixture(), &path).unwrap();
    assert!(fs::read_to_string(&path).unwrap().starts_with("<!DOCTYPE html>"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn needed_chunks_lists_cited_shown_and_seed_chunks() {
    let view = fixture();
    let ids = needed_chunks(&view.records, &view.rejects);
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["a-0", "b-0", "zz-9"]);
}

#[test]
fn terminal_shows_path_and_highlighted_quote() {
    let view = fixture();
    let plain = render_terminal(&view.records[0], &view.chunks, false);
    assert!(plain.contains("Lecture I › The flame"), "{plain}");
    assert!(plain.contains("»<script>alert(1)</script>«"));
    assert!(plain.contains("model's wording: “script alert(1)”"));
    assert!(plain.contains("fuzzy match 0.83"));
    assert!(plain.contains("round-trip rank #1"));
    assert!(plain.contains("[1] Naïve <Tests>"));
    assert!(!plain.contains('\x1b'));

    let color = render_terminal(&view.records[0], &view.chunks, true);
    assert!(color.contains("\x1b[1;33m<script>alert(1)</script>\x1b[0m"));

    // Out-of-bounds and missing chunks do not panic; the quote is shown on its own.
    let partial = render_terminal(&view.records[1], &view.chunks, false);
    assert!(partial.contains("quote not in the chunk text"));
    assert!(partial.contains("»not </script> here«"));
    assert!(partial.contains("chunk not available"));
    assert!(partial.contains("sentence 2 is not supported"));
    assert!(partial.contains("round-trip rank miss"));

    // Control characters in the corpus cannot drive the terminal.
    let mut evil = view.records[0].clone();
    evil.answer = "red \x1b[31m text".into();
    let out = render_terminal(&evil, &view.chunks, true);
    assert!(out.contains("red \\u{1b}[31m text"));

    let rej = render_reject_terminal(&view.rejects[0]);
    assert!(rej.contains("rejected at verify"));
    assert!(rej.contains("quote_not_found"));
    assert!(rej.contains("</script><img src=x onerror=alert(4)>"));
    assert!(rej.contains("Seed chunks: b-0"));
}

fn assert_string(v: &Value, key: &str) {
    assert!(v[key].is_string(), "{key} is not a string in {v}");
}

/// The metadata shape every row must share.
fn assert_metadata(m: &Value) {
    let keys: BTreeSet<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "question_type", "verdict", "support", "citations"]));
    for k in ["id", "question_type", "verdict"] {
        assert_string(m, k);
    }
    assert!(m["support"].is_f64(), "{m}");
    for c in m["citations"].as_array().unwrap() {
        let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["chunk_id", "doc_id", "doc_title", "heading_path", "quote", "span"]));
        for k in ["chunk_id", "doc_id", "doc_title", "quote"] {
            assert_string(c, k);
        }
        assert!(c["heading_path"].as_array().unwrap().iter().all(Value::is_string));
        let span = c["span"].as_array().unwrap();
        assert_eq!(span.len(), 2);
        assert!(span.iter().all(Value::is_u64));
    }
}

fn card() -> CardInfo {
    CardInfo {
        name: "Faraday \"Candle\" Q&A".into(),
        license: "cc-by-4.0".into(),
        language: vec!["en".into()],
        sources: vec!["Naïve <Tests> & \"Co\"".into(), "Doc <B>".into()],
        model: "qwen".into(),
        backend: "embedded".into(),
        system_prompt: "Answer from the cited passages.".into(),
        run_id: "run1".into(),
    }
}

#[test]
fn every_format_round_trips_line_by_line() {
    let view = fixture();
    for format in ExportFormat::ALL {
        let dir = tempfile::tempdir().unwrap();
        let summary = export(&view.records, format, dir.path(), &card()).unwrap();
        assert_eq!(summary.rows, 3);
        assert_eq!(summary.path, dir.path().join("data/train.jsonl"));
        assert_eq!(summary.card_path, dir.path().join("README.md"));
        assert_eq!(fs::read_dir(dir.path().join("data")).unwrap().count(), 1, "temp file left behind");
        let text = fs::read_to_string(&summary.path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(text.ends_with('\n'));
        for (line, r) in lines.iter().zip(&view.records) {
            let v: Value = serde_json::from_str(line).unwrap();
            let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            let (q, a) = (Value::from(r.question.as_str()), Value::from(r.answer.as_str()));
            match format {
                ExportFormat::OpenAi => {
                    assert_eq!(keys, BTreeSet::from(["messages", "metadata"]));
                    let m = v["messages"].as_array().unwrap();
                    let roles: Vec<&str> = m.iter().map(|t| t["role"].as_str().unwrap()).collect();
                    assert_eq!(roles, ["system", "user", "assistant"]);
                    assert_eq!(m[0]["content"], "Answer from the cited passages.");
                    assert_eq!((&m[1]["content"], &m[2]["content"]), (&q, &a));
                }
                ExportFormat::ShareGpt => {
                    assert_eq!(keys, BTreeSet::from(["conversations", "metadata"]));
                    let c = v["conversations"].as_array().unwrap();
                    assert_eq!((&c[0]["from"], &c[1]["from"]), (&json!("human"), &json!("gpt")));
                    assert_eq!((&c[0]["value"], &c[1]["value"]), (&q, &a));
                }
                ExportFormat::Alpaca => {
                    assert_eq!(keys, BTreeSet::from(["instruction", "input", "output", "metadata"]));
                    assert_eq!((&v["instruction"], &v["input"], &v["output"]), (&q, &json!(""), &a));
                }
                ExportFormat::Trl => {
                    assert_eq!(keys, BTreeSet::from(["prompt", "completion", "metadata"]));
                    assert_eq!(v["prompt"], json!([{"role": "user", "content": q}]));
                    assert_eq!(v["completion"], json!([{"role": "assistant", "content": a}]));
                }
                ExportFormat::Text => {
                    assert_eq!(keys, BTreeSet::from(["text", "metadata"]));
                    assert_eq!(v["text"], format!("{}\n\n{}", r.question, r.answer));
                }
                ExportFormat::Jsonl => {
                    let back: Record = serde_json::from_str(line).unwrap();
                    assert_eq!(&back, r);
                    continue;
                }
            }
            let m = &v["metadata"];
            assert_metadata(m);
            assert_eq!(m["id"], r.id.to_string());
            assert_eq!(m["verdict"], r.verdict.as_str());
            assert_eq!(m["citations"].as_array().unwrap().len(), r.citations.len());
            let c0 = &m["citations"][0];
            assert_eq!(c0["quote"], r.citations[0].quote.as_str());
            assert_eq!(c0["span"], json!([r.citations[0].span.start(), r.citations[0].span.end()]));
        }
        if format == ExportFormat::Alpaca {
            let first: Value = serde_json::from_str(lines[0]).unwrap();
            assert_eq!(first["metadata"]["support"], json!(0.92));
        }
    }
}

#[test]
fn rows_keep_one_type_when_scores_are_missing() {
    let mut records = fixture().records;
    records[0].scores.support = f32::NAN;
    records[1].citations.clear();
    let dir = tempfile::tempdir().unwrap();
    let mut no_system = card();
    no_system.system_prompt.clear();
    export(&records, ExportFormat::OpenAi, dir.path(), &no_system).unwrap();
    let text = fs::read_to_string(dir.path().join("data/train.jsonl")).unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0]["metadata"]["support"], json!(-1.0));
    assert_eq!(rows[1]["metadata"]["citations"], json!([]));
    assert_eq!(rows[0]["messages"][0]["role"], "user");
    for row in &rows {
        assert_metadata(&row["metadata"]);
    }
}

/// The YAML front matter of a card, and the text after it.
fn front_matter(card: &str) -> (&str, &str) {
    let rest = card.strip_prefix("---\n").expect("front matter opens the card");
    let end = rest.find("\n---\n").expect("front matter closes");
    (&rest[..end + 1], &rest[end + 5..])
}

#[test]
fn card_has_front_matter_and_explains_citations() {
    let view = fixture();
    let dir = tempfile::tempdir().unwrap();
    let summary = export(&view.records, ExportFormat::Trl, dir.path(), &card()).unwrap();
    let text = fs::read_to_string(summary.card_path).unwrap();
    let (yaml, body) = front_matter(&text);
    for key in [
        "license: \"cc-by-4.0\"\n",
        "language:\n- \"en\"\n",
        "task_categories:\n- question-answering\n- text-generation\n",
        "size_categories:\n- n<1K\n",
        "annotations_creators:\n- machine-generated\n",
        "pretty_name: \"Faraday \\\"Candle\\\" Q&A\"\n",
        "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.jsonl\n",
    ] {
        assert!(yaml.contains(key), "{key:?} missing from\n{yaml}");
    }
    assert!(body.contains("- Naïve &lt;Tests&gt; &amp; \"Co\""), "{body}");
    assert!(body.contains("- Model: qwen"));
    assert!(body.contains("| supported | 1 |"));
    assert!(body.contains("| multi\\_hop | 1 |"));
    assert!(body.contains("quote == text[span]"));
    assert!(body.contains("byte offsets into the normalised document text"));
    assert!(body.contains("Every record was verified"));
    assert!(body.contains("TRL conversational prompt-completion"));

    // The size category follows the row count.
    let many: Vec<Record> = (0..1500).map(|i| view.records[i % 3].clone()).collect();
    let many_card = render_card(&many, ExportFormat::Jsonl, &card());
    let (yaml, _) = front_matter(&many_card);
    assert!(yaml.contains("size_categories:\n- 1K<n<10K\n"));
    assert_eq!(size_category(1500), "1K<n<10K");
}

/// The report in a real browser (Debian's chromium, headless, started here): every record
/// renders, the report's own filter script runs, and scripts planted in corpus and model text
/// do not. scripts/setup.sh --tests installs chromium; without it this test fails.
#[test]
fn report_renders_in_headless_chromium_and_planted_scripts_do_not_run() {
    let mut view = fixture();
    let plant = "<script>document.body.setAttribute('data-pwned','1')</script>";
    let close = "</script><script>document.title='pwned'</script>";
    view.records[0].question = format!("Why {plant} does it burn?");
    view.records[0].answer = format!("Because {close} it is hot.");
    for c in view.chunks.values_mut() {
        c.text.push_str(plant);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    quarry_report::write_html(&view, &path).unwrap();
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is needed (scripts/setup.sh --tests installs it)");
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=2000"])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in &view.records {
        assert!(dom.contains(&format!("id=\"rec-{}\"", r.id)), "record {} not rendered", r.id);
    }
    assert_eq!(dom.matches("class=\"record").count(), view.records.len());
    // The report's own script ran (it reveals the filter bar) ...
    assert!(!dom.contains("id=\"filters\" class=\"filters\" hidden"), "the filter script did not run");
    // ... and the planted ones did not.
    assert!(!dom.contains("<body data-pwned") && !dom.contains("data-pwned=\"1\""), "a planted script ran");
    assert!(!dom.contains("<title>pwned</title>"), "a planted script ran");
}
