//! The report, terminal view and exports for every task of the v2 record schema
//! (follow-up chains, conversations, preference pairs, pre-training passages, topic-tree
//! nodes) over hand-built records whose text tries to break out of HTML, JSON and
//! terminals; and the corpus-text quality filter.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use quarry_core::{
    Citation, Controls, Preference, QuoteMatch, RECORD_SCHEMA_VERSION, Record, RecordId, Reject, Role, Scores, Span,
    Turn, Verdict,
};
use quarry_report::{
    CardInfo, ChunkView, CorpusChunk, ExportFormat, ReportError, RunView, TextQuality, TextReject, export,
    export_corpus_text, needed_chunks, render_card, render_html, render_terminal, text_quality,
};
use serde_json::{Value, json};

const DOC: &str = "doc_t";
const TITLE: &str = "Candle <Lectures> & \"Co\"";
const C1_START: usize = 500;
const C1: &str = "Air is needed & the flame <script>alert('c1')</script> burns. Oxygen feeds the flame. \
                  Without it the candle goes out.";
const C2_START: usize = 900;
const C2: &str = "Water is formed when hydrogen burns. </script><img src=x onerror=alert(5)> The product is steam.";

const OXYGEN: &str = "Oxygen feeds the flame";
const WATER: &str = "Water is formed when hydrogen burns";
const SCRIPT: &str = "<script>alert('c1')</script>";

fn cite(passage: u32, chunk_id: &str, quote: &str) -> Citation {
    let (start, text, path): (usize, &str, &[&str]) = match chunk_id {
        "c-1" => (C1_START, C1, &["Lecture II", "Air"]),
        _ => (C2_START, C2, &["Lecture III"]),
    };
    let at = start + text.find(quote).expect("quote in chunk");
    Citation {
        passage,
        chunk_id: chunk_id.into(),
        doc_id: DOC.into(),
        doc_title: TITLE.into(),
        heading_path: path.iter().map(|s| s.to_string()).collect(),
        quote: quote.into(),
        model_quote: quote.into(),
        span: Span::new(at, at + quote.len()).unwrap(),
        match_kind: QuoteMatch::Exact,
        match_score: 1.0,
    }
}

fn user(speaker: &str, content: &str) -> Turn {
    Turn { role: Role::User, speaker: speaker.into(), content: content.into(), support: -1.0, ..Turn::default() }
}

fn assistant(speaker: &str, content: &str, verdict: &str, support: f32, citations: Vec<Citation>) -> Turn {
    Turn {
        role: Role::Assistant,
        speaker: speaker.into(),
        content: content.into(),
        passages: citations.iter().map(|c| c.chunk_id.clone()).collect(),
        citations,
        verdict: verdict.parse().ok(),
        support,
    }
}

fn paragraph(content: &str, verdict: &str, support: f32, citations: Vec<Citation>) -> Turn {
    Turn { role: Role::Text, ..assistant("", content, verdict, support, citations) }
}

/// A record of `task` in slot `slot`; dialogues fill `question`, `answer` and `citations`
/// from their turns the way the generator does.
fn base(task: &str, slot: u64, verdict: Verdict, support: f32) -> Record {
    Record {
        schema_version: RECORD_SCHEMA_VERSION,
        id: RecordId::new("run2", slot),
        task: task.parse().unwrap(),
        slot,
        verdict,
        scores: Scores {
            support,
            quote_match: 1.0,
            sentences: vec![],
            round_trip_rank: 2,
            round_trip_hit: true,
            user_content_share: -1.0,
        },
        model: "qwen".into(),
        backend: "embedded".into(),
        ..Record::default()
    }
}

fn dialogue(mut r: Record, turns: Vec<Turn>) -> Record {
    r.question = turns.iter().find(|t| t.role == Role::User).map(|t| t.content.clone()).unwrap_or_default();
    r.answer = turns.iter().find(|t| t.role == Role::Assistant).map(|t| t.content.clone()).unwrap_or_default();
    r.citations = turns.iter().flat_map(|t| t.citations.clone()).collect();
    r.passages = turns.iter().flat_map(|t| t.passages.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    r.seed_chunks = vec!["c-1".into()];
    r.turns = turns;
    r
}

fn followup(slot: u64) -> Record {
    let mut r = dialogue(
        base("followup", slot, Verdict::Partial, 0.75),
        vec![
            user("user", "What feeds the flame <script>alert('t1')</script>?"),
            assistant(
                "assistant",
                "Oxygen feeds it & keeps it alight.",
                "supported",
                0.9,
                vec![cite(1, "c-1", OXYGEN)],
            ),
            user("user", "And what does burning hydrogen make?"),
            assistant(
                "assistant",
                "Water </script><script>alert('t2')</script>, as steam.",
                "partial",
                0.6,
                vec![cite(1, "c-2", WATER)],
            ),
        ],
    );
    r.scores.user_content_share = 0.25;
    r.parent_id = Some(RecordId::new("run1", 0));
    r.question_type = "factual".into();
    r
}

fn conversation(slot: u64) -> Record {
    let mut r = dialogue(
        base("conversation", slot, Verdict::Supported, 0.88),
        vec![
            user("student", "Why does a candle need air?"),
            assistant("teacher", "Because oxygen feeds the flame.", "supported", 0.93, vec![cite(1, "c-1", OXYGEN)]),
            user("student", "I doubt it \u{2028}<img src=x onerror=alert(7)>; what else?"),
            assistant(
                "teacher",
                "Burning hydrogen forms water.",
                "supported",
                0.84,
                vec![cite(1, "c-2", WATER), cite(2, "c-1", SCRIPT)],
            ),
        ],
    );
    r.controls = Controls {
        dynamics: "teacher and student".into(),
        emotion: "sceptical and enthusiastic".into(),
        structure: "Socratic".into(),
        scenario: "a lab <b>bench</b>".into(),
        knowledge_level: "beginner".into(),
    };
    r.scores.user_content_share = 0.4;
    r
}

fn dpo(slot: u64) -> Record {
    let mut r = base("dpo", slot, Verdict::Supported, 0.92);
    r.question = "What feeds a candle's flame?".into();
    r.question_type = "factual".into();
    r.answer = "Oxygen from the air feeds the flame.".into();
    r.citations = vec![cite(1, "c-1", OXYGEN)];
    r.passages = vec!["c-1".into(), "c-2".into()];
    r.seed_chunks = vec!["c-1".into()];
    r.parent_id = Some(RecordId::new("run1", 1));
    r.preference = Preference {
        rejected: "Nitrogen feeds the flame <img src=x onerror=alert(6)> </script>.".into(),
        method: "perturbation".into(),
        detail: "oxygen -> nitrogen <i>".into(),
        model: "qwen-small".into(),
        verdict: Some(Verdict::Unsupported),
        support: 0.1,
    };
    r
}

fn pretrain(slot: u64) -> Record {
    let p1 = "A candle burns because oxygen feeds the flame <script>alert('p1')</script>.";
    let p2 = "When hydrogen burns, water is formed and leaves as steam.";
    let mut r = base("pretrain", slot, Verdict::Supported, 0.81);
    r.question = "Combustion".into();
    r.answer = format!("{p1}\n\n{p2}");
    r.turns = vec![
        paragraph(p1, "supported", 0.85, vec![cite(1, "c-1", OXYGEN)]),
        paragraph(p2, "partial", 0.7, vec![cite(1, "c-2", WATER)]),
    ];
    r.citations = r.turns.iter().flat_map(|t| t.citations.clone()).collect();
    r.passages = vec!["c-1".into(), "c-2".into()];
    r.topic_path = vec!["Chemistry".into(), "Combustion".into()];
    r
}

fn topic(slot: u64) -> Record {
    let mut r = base("topic", slot, Verdict::Supported, 1.0);
    r.question = "Air <i>".into();
    r.topic_path = vec!["Chemistry".into(), "Combustion".into(), "Air <i>".into()];
    r.citations = vec![cite(1, "c-1", OXYGEN)];
    r
}

fn chunks() -> HashMap<String, ChunkView> {
    let view = |id: &str, start, text: &str, path: &[&str]| ChunkView {
        chunk_id: id.into(),
        doc_id: DOC.into(),
        doc_title: TITLE.into(),
        heading_path: path.iter().map(|s| s.to_string()).collect(),
        chunk_start: start,
        text: text.into(),
    };
    HashMap::from([
        ("c-1".to_owned(), view("c-1", C1_START, C1, &["Lecture II", "Air"])),
        ("c-2".to_owned(), view("c-2", C2_START, C2, &["Lecture III"])),
    ])
}

fn fixture() -> RunView {
    let records = vec![followup(0), conversation(1), dpo(2), pretrain(3), topic(4)];
    let rejects = vec![Reject {
        schema_version: RECORD_SCHEMA_VERSION,
        id: RecordId::new("run2", 5),
        slot: 5,
        stage: "dedup".into(),
        reason: "duplicate".into(),
        detail: "same question as run2-000000".into(),
        question: "What feeds the flame?".into(),
        seed_chunks: vec!["c-1".into()],
        support: -1.0,
        ..Reject::default()
    }];
    let run = json!({
        "run_id": "run2",
        "task": "followup",
        "accepted": 5,
        "rejected": 1,
        "dedup": {
            "duplicates": 3,
            "largest_clusters": [
                {"record": "run2-000000", "duplicates": ["run2-000005", "gone-<b>1</b>-000001"]},
                {"record": "run-elsewhere-000009", "duplicates": ["x-000001"]}
            ]
        }
    });
    RunView {
        run: serde_json::from_value(run).unwrap(),
        records,
        rejects,
        chunks: chunks(),
        languages: Default::default(),
    }
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

/// The HTML of one record's `<article>`.
fn article<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"rec-{id}\"")).unwrap_or_else(|| panic!("no record {id}"));
    let end = start + html[start..].find("</article>").unwrap();
    &html[start..end]
}

#[test]
fn html_renders_every_task_in_its_shape_and_escapes_everything() {
    let view = fixture();
    let html = render_html(&view);
    let lower = html.to_ascii_lowercase();

    // Escaping: only the report's own script element, no planted tag survives.
    assert_eq!(lower.matches("<script").count(), 1);
    assert_eq!(lower.matches("</script").count(), 1);
    assert!(!lower.contains("<img"));
    assert!(!html.contains("<b>bench</b>") && !html.contains("<i>"));
    let allowed: BTreeSet<String> =
        "html head meta title style body main h1 h2 h3 p span b nav a div table tr th td svg g \
        rect text line label select option article ul li details summary pre section mark code ol script \
        button input"
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    let tags = tag_names(&html);
    assert!(tags.is_subset(&allowed), "unexpected tags: {:?}", tags.difference(&allowed).collect::<Vec<_>>());
    let script = &html[lower.find("<script>").unwrap()..lower.find("</script>").unwrap()];
    assert!(!script.contains("alert") && !script.contains("run2"), "the script holds no data");
    assert_eq!(html.matches("class=\"record\"").count(), view.records.len());

    // A turn's evidence marks the words of the user turn before it ("What feeds the flame…?");
    // the rest of the test reads the text without those marks.
    let f = article(&html, "run2-000000");
    assert!(f.contains("<span class=\"qt\">feeds</span>"), "{f}");
    let html = common::unmark(&html);

    // Follow-up: every turn in order, each answer with its own verdict and evidence.
    let f = article(&html, "run2-000000");
    assert!(f.contains("data-task=\"followup\""));
    let order = [
        "What feeds the flame &lt;script&gt;alert(&#39;t1&#39;)&lt;/script&gt;?",
        "Oxygen feeds it &amp; keeps it alight.",
        "<mark>Oxygen feeds the flame</mark>",
        "And what does burning hydrogen make?",
        "<span class=\"badge b-partial\">partial</span><span>support <b>0.60</b></span>",
        "Water &lt;/script&gt;&lt;script&gt;alert(&#39;t2&#39;)&lt;/script&gt;, as steam.",
        "<mark>Water is formed when hydrogen burns</mark>",
    ];
    let mut at = 0;
    for part in order {
        let found = f[at..].find(part).unwrap_or_else(|| panic!("{part:?} missing or out of order in\n{f}"));
        at += found + part.len();
    }
    assert!(f.contains("<span class=\"badge b-supported\">supported</span><span>support <b>0.90</b></span>"));
    assert!(f.contains("<div class=\"turn-head\"><b>user</b></div>"), "user turns are not verified");
    // Each quote once: the turns show their evidence, the record's union is not repeated.
    assert_eq!(f.matches("<mark>").count(), 2);
    assert!(f.contains("Lecture II › Air") && f.contains("Lecture III"));
    assert!(f.contains("&lt;/script&gt;&lt;img src=x onerror=alert(5)&gt;"), "chunk text escaped");
    assert!(f.contains("user content share <b>0.25</b>"));
    assert!(f.contains("made from <a class=\"mono\" href=\"#rec-run1-000000\">run1-000000</a>"));
    assert!(f.contains("<b>4</b> turns"));
    assert!(f.contains("round-trip rank <b>#2</b>"));

    // Conversation: speakers, controls, the line separator kept as text.
    let c = article(&html, "run2-000001");
    assert!(c.contains("<b>student</b>") && c.contains("<b>teacher</b>"));
    assert!(c.contains("<span class=\"tag\">dynamics: <b>teacher and student</b></span>"));
    assert!(c.contains("scenario: <b>a lab &lt;b&gt;bench&lt;/b&gt;</b>"));
    assert!(c.contains("knowledge level: <b>beginner</b>"));
    assert!(c.contains("I doubt it \u{2028}&lt;img src=x onerror=alert(7)&gt;; what else?"));
    assert!(c.contains("<mark>&lt;script&gt;alert(&#39;c1&#39;)&lt;/script&gt;</mark>"));
    assert!(c.contains("user content share <b>0.40</b>"));
    assert!(!f.contains("class=\"controls\""), "no controls row when none is set");
    assert!(!c.contains("round-trip"), "conversations have no round trip");
    let mut typed = conversation(1);
    typed.question_type = "conversation".into();
    assert!(
        !render_html(&RunView { records: vec![typed], ..RunView::default() })
            .contains("<span class=\"tag\">conversation</span><span class=\"tag\">"),
        "a type equal to the task is not repeated"
    );

    // DPO: the prompt, then chosen (with its evidence) beside rejected.
    let d = article(&html, "run2-000002");
    let prompt = d.find("What feeds a candle&#39;s flame?").unwrap();
    let chosen = d.find("<div class=\"side chosen\">").unwrap();
    let mark = d.find("<mark>Oxygen feeds the flame</mark>").unwrap();
    let rejected = d.find("<div class=\"side rejected\">").unwrap();
    assert!(prompt < chosen && chosen < mark && mark < rejected, "{d}");
    assert!(d.contains("<div class=\"pair\">"));
    let rej = &d[rejected..];
    assert!(rej.contains("Nitrogen feeds the flame &lt;img src=x onerror=alert(6)&gt; &lt;/script&gt;."));
    assert!(rej.contains("<span class=\"badge b-unsupported\">unsupported</span><span>support <b>0.10</b></span>"));
    assert!(rej.contains("method <span class=\"tag\">perturbation</span>"));
    assert!(rej.contains("model <b>qwen-small</b>"));
    assert!(rej.contains("oxygen -&gt; nitrogen &lt;i&gt;"));
    assert!(!rej.contains("<mark>"), "the rejected side has no evidence of its own");

    // Pre-training passage: the topic, then paragraph by paragraph with their evidence.
    let p = article(&html, "run2-000003");
    assert!(p.contains("passage (2 paragraphs)"));
    let p1 = p.find("<b>paragraph 1</b>").unwrap();
    let p2 = p.find("<b>paragraph 2</b>").unwrap();
    assert!(p1 < p.find("<mark>Oxygen feeds the flame</mark>").unwrap());
    assert!(p2 < p.find("<mark>Water is formed when hydrogen burns</mark>").unwrap());
    assert!(p.contains("oxygen feeds the flame &lt;script&gt;alert(&#39;p1&#39;)&lt;/script&gt;."));

    // Topic node: its path as a breadcrumb.
    let t = article(&html, "run2-000004");
    assert!(t.contains(
        "<div class=\"crumbs\">topic <span>Chemistry</span> › <span>Combustion</span> › <b>Air &lt;i&gt;</b></div>"
    ));
    assert!(t.contains("<mark>Oxygen feeds the flame</mark>"));

    // Summary: counts by task, a task filter, the dedup section with links.
    for task in ["followup", "conversation", "dpo", "pretrain", "topic"] {
        assert!(html.contains(&format!("<tr><td>{task}</td><td class=\"n\">1</td>")), "{task} count");
        assert!(html.contains(&format!("<option value=\"{task}\">{task}</option>")), "{task} filter");
    }
    assert!(html.contains("<select data-filter=\"task\">"));
    assert!(
        html.contains(
            "<article class=\"reject\" id=\"rej-run2-000005\" data-verdict=\"rejected\" data-task=\"followup\""
        )
    );
    assert!(html.contains("<h3>Duplicates</h3>"));
    assert!(html.contains("<p><b>3</b> duplicates removed.</p>"));
    assert!(html.contains("<a class=\"mono\" href=\"#rec-run2-000000\">run2-000000</a></td><td class=\"n\">2</td>"));
    assert!(html.contains("<a class=\"mono\" href=\"#rej-run2-000005\">run2-000005</a>"));
    assert!(html.contains("<span class=\"mono\">gone-&lt;b&gt;1&lt;/b&gt;-000001</span>"));
    assert!(html.contains("<span class=\"mono\">run-elsewhere-000009</span>"));

    // Old runs without a dedup object: no section.
    let mut old = fixture();
    old.run.dedup = None;
    let html = render_html(&old);
    assert!(!html.contains("Duplicates") && !html.contains("duplicates removed"));
}

#[test]
fn needed_chunks_include_the_turns() {
    let mut r = followup(0);
    r.citations.clear();
    r.passages.clear();
    r.seed_chunks.clear();
    r.turns[1].passages.push("c-9".into());
    let ids: Vec<String> = needed_chunks(&[r], &[]).into_iter().collect();
    assert_eq!(ids, ["c-1", "c-2", "c-9"]);
}

#[test]
fn terminal_shows_each_task() {
    let ch = chunks();
    let f = render_terminal(&followup(0), &ch, false);
    let order = [
        "task followup",
        "Made from: run1-000000",
        "Dialogue (4 turns)",
        "1. user",
        "What feeds the flame <script>alert('t1')</script>?",
        "2. assistant  [supported]  support 0.90",
        "»Oxygen feeds the flame«",
        "3. user",
        "4. assistant  [partial]  support 0.60",
        "Lecture III",
        "»Water is formed when hydrogen burns«",
        "user content share 0.25",
    ];
    let mut at = 0;
    for part in order {
        let found = f[at..].find(part).unwrap_or_else(|| panic!("{part:?} missing or out of order in\n{f}"));
        at += found + part.len();
    }
    assert!(!f.contains("\nCitations ("), "turns show their own citations:\n{f}");
    assert_eq!(f.matches('»').count(), 2);
    assert!(!f.contains('\x1b'));

    let c = render_terminal(&conversation(1), &ch, false);
    assert!(c.contains("Controls\n  dynamics: teacher and student\n  emotion: sceptical and enthusiastic\n"));
    assert!(c.contains("scenario: a lab <b>bench</b>") && c.contains("knowledge level: beginner"));
    assert!(c.contains("1. student") && c.contains("2. teacher"));

    let d = render_terminal(&dpo(2), &ch, false);
    let order = [
        "Prompt",
        "What feeds a candle's flame?",
        "Chosen supported   support 0.92",
        "Oxygen from the air feeds the flame.",
        "»Oxygen feeds the flame«",
        "Rejected unsupported   support 0.10",
        "method perturbation   model qwen-small",
        "oxygen -> nitrogen <i>",
        "Nitrogen feeds the flame",
    ];
    let mut at = 0;
    for part in order {
        let found = d[at..].find(part).unwrap_or_else(|| panic!("{part:?} missing or out of order in\n{d}"));
        at += found + part.len();
    }

    assert!(f.contains("round-trip rank #2"));
    let p = render_terminal(&pretrain(3), &ch, false);
    assert!(!p.contains("round-trip"), "passages have no round trip");
    assert!(p.contains("Topic path: Chemistry › Combustion"));
    assert!(p.contains("Passage (2 paragraphs)") && p.contains("1. paragraph 1  [supported]"));
    let t = render_terminal(&topic(4), &ch, false);
    assert!(t.contains("Topic path: Chemistry › Combustion › Air <i>") && t.contains("Citations (1)"));

    // Control characters planted in a turn or a rejected side cannot drive the terminal.
    let mut evil = dpo(2);
    evil.preference.rejected = "red \x1b[31m side".into();
    assert!(render_terminal(&evil, &ch, true).contains("red \\u{1b}[31m side"));
    let mut evil = followup(0);
    evil.turns[2].content = "move \x1b[2J turn".into();
    let out = render_terminal(&evil, &ch, true);
    assert!(out.contains("move \\u{1b}[2J turn") && !out.contains("\x1b[2J"));
    // With colour, each turn's quote is highlighted.
    assert!(out.contains("\x1b[1;33mOxygen feeds the flame\x1b[0m"));
}

// ---------------------------------------------------------------- exports

fn card() -> CardInfo {
    CardInfo {
        name: "Candle data".into(),
        license: "cc-by-4.0".into(),
        language: vec!["en".into()],
        sources: vec![TITLE.into()],
        model: "qwen".into(),
        backend: "embedded".into(),
        system_prompt: "Answer from the passages.".into(),
        run_id: "run2".into(),
    }
}

/// Records every key path to the JSON types it holds (`[]` for an array's items) and every
/// object path to its key set, and refuses nulls.
fn walk(
    v: &Value,
    path: String,
    types: &mut BTreeMap<String, BTreeSet<&'static str>>,
    keys: &mut BTreeMap<String, BTreeSet<Vec<String>>>,
) {
    let t = match v {
        Value::Null => panic!("null at {path}"),
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(items) => {
            for x in items {
                walk(x, format!("{path}[]"), types, keys);
            }
            "array"
        }
        Value::Object(m) => {
            keys.entry(path.clone()).or_default().insert(m.keys().cloned().collect());
            for (k, x) in m {
                walk(x, format!("{path}.{k}"), types, keys);
            }
            "object"
        }
    };
    types.entry(path).or_default().insert(t);
}

/// The rows of an export, checked to load as one table: every object at one path has the
/// same keys, every path one JSON type (floats stay floats), no nulls.
fn rows_of(dir: &Path) -> Vec<Value> {
    let text = fs::read_to_string(dir.join("data/train.jsonl")).unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (mut types, mut keys) = (BTreeMap::new(), BTreeMap::new());
    for row in &rows {
        walk(row, String::new(), &mut types, &mut keys);
    }
    for (path, t) in &types {
        assert_eq!(t.len(), 1, "{path} holds {t:?} in {}", dir.display());
    }
    for (path, k) in &keys {
        assert_eq!(k.len(), 1, "objects at {path:?} differ in keys: {k:?}");
    }
    rows
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn export_rows(records: &[Record], format: ExportFormat) -> (tempfile::TempDir, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let s = export(records, format, dir.path(), &card()).unwrap();
    assert_eq!(s.rows, records.len());
    let rows = rows_of(dir.path());
    assert_eq!(rows.len(), records.len());
    (dir, rows)
}

fn msg(role: &str, content: &str) -> Value {
    json!({"role": role, "content": content})
}

fn turn_msgs(r: &Record) -> Vec<Value> {
    r.turns.iter().map(|t| msg(t.role.as_str(), &t.content)).collect()
}

/// Two dialogues of different lengths: the second has three exchanges.
fn dialogues(task: &str) -> Vec<Record> {
    let first = if task == "followup" { followup(0) } else { conversation(0) };
    let second = if task == "followup" { followup(1) } else { conversation(1) };
    let (asker, answerer) = (second.turns[0].speaker.clone(), second.turns[1].speaker.clone());
    let mut turns = second.turns.clone();
    turns.push(user(&asker, "One more?"));
    turns.push(assistant(&answerer, "Steam, again.", "supported", 0.8, vec![cite(1, "c-2", WATER)]));
    vec![first, dialogue(second, turns)]
}

#[test]
fn dialogue_exports_have_every_turn() {
    for task in ["followup", "conversation"] {
        let records = dialogues(task);
        for format in ExportFormat::ALL {
            let (_dir, rows) = export_rows(&records, format);
            for (v, r) in rows.iter().zip(&records) {
                let turns = turn_msgs(r);
                let (last_user, last_answer) = (&turns[turns.len() - 2], &turns[turns.len() - 1]);
                match format {
                    ExportFormat::OpenAi => {
                        assert_eq!(keys(v), BTreeSet::from(["messages", "metadata"]));
                        let mut want = vec![msg("system", "Answer from the passages.")];
                        want.extend(turns.iter().cloned());
                        assert_eq!(v["messages"], json!(want));
                    }
                    ExportFormat::ShareGpt => {
                        assert_eq!(keys(v), BTreeSet::from(["conversations", "metadata"]));
                        let want: Vec<Value> = r
                            .turns
                            .iter()
                            .map(
                                |t| json!({"from": if t.role == Role::User { "human" } else { "gpt" }, "value": t.content}),
                            )
                            .collect();
                        assert_eq!(v["conversations"], json!(want));
                    }
                    ExportFormat::Alpaca => {
                        assert_eq!(keys(v), BTreeSet::from(["instruction", "input", "output", "history", "metadata"]));
                        assert_eq!(v["instruction"], last_user["content"]);
                        assert_eq!(v["input"], "");
                        assert_eq!(v["output"], last_answer["content"]);
                        let history: Vec<Value> = r.turns[..r.turns.len() - 2]
                            .chunks(2)
                            .map(|p| json!([p[0].content, p[1].content]))
                            .collect();
                        assert_eq!(v["history"], json!(history));
                    }
                    ExportFormat::Trl => {
                        assert_eq!(keys(v), BTreeSet::from(["prompt", "completion", "metadata"]));
                        assert_eq!(v["prompt"], json!(turns[..turns.len() - 1]));
                        assert_eq!(v["completion"], json!([last_answer]));
                    }
                    ExportFormat::Text => {
                        assert_eq!(keys(v), BTreeSet::from(["text", "metadata"]));
                        let text = v["text"].as_str().unwrap();
                        let first = if task == "followup" { "User: What feeds the flame" } else { "Student: Why does" };
                        assert!(text.starts_with(first), "{text}");
                        for t in &r.turns {
                            assert!(text.contains(&t.content));
                        }
                    }
                    ExportFormat::Jsonl => {
                        assert_eq!(&serde_json::from_value::<Record>(v.clone()).unwrap(), r);
                        continue;
                    }
                }
                // Citations travel per turn; user turns are unverified.
                let m = &v["metadata"];
                assert_eq!(m["task"], task);
                assert_eq!(m["citations"].as_array().unwrap().len(), r.citations.len());
                let mt = m["turns"].as_array().unwrap();
                assert_eq!(mt.len(), r.turns.len());
                for (meta, t) in mt.iter().zip(&r.turns) {
                    assert_eq!(keys(meta), BTreeSet::from(["role", "speaker", "verdict", "support", "citations"]));
                    assert_eq!((&meta["role"], &meta["speaker"]), (&json!(t.role), &json!(t.speaker)));
                    let quotes: Vec<&str> =
                        meta["citations"].as_array().unwrap().iter().map(|c| c["quote"].as_str().unwrap()).collect();
                    assert_eq!(quotes, t.citations.iter().map(|c| c.quote.as_str()).collect::<Vec<_>>());
                    if t.role == Role::User {
                        assert_eq!((&meta["verdict"], &meta["support"]), (&json!(""), &json!(-1.0)));
                    }
                }
                assert_eq!(mt[1]["support"], json!(if task == "followup" { 0.9 } else { 0.93 }));
                assert!(!keys(m).contains("preference"));
            }
        }
    }
}

#[test]
fn dpo_exports_are_preference_pairs() {
    let mut second = dpo(1);
    second.preference.method = "no_passages".into();
    second.preference.detail = String::new();
    second.preference.model = String::new();
    let records = vec![dpo(0), second];
    for format in ExportFormat::ALL {
        let (_dir, rows) = export_rows(&records, format);
        for (v, r) in rows.iter().zip(&records) {
            let (q, chosen, rejected) = (r.question.as_str(), r.answer.as_str(), r.preference.rejected.as_str());
            match format {
                ExportFormat::Trl => {
                    assert_eq!(keys(v), BTreeSet::from(["prompt", "chosen", "rejected", "metadata"]));
                    assert_eq!(v["prompt"], json!([msg("user", q)]));
                    assert_eq!(v["chosen"], json!([msg("assistant", chosen)]));
                    assert_eq!(v["rejected"], json!([msg("assistant", rejected)]));
                }
                ExportFormat::OpenAi => {
                    assert_eq!(
                        keys(v),
                        BTreeSet::from(["input", "preferred_output", "non_preferred_output", "metadata"])
                    );
                    assert_eq!(
                        v["input"],
                        json!({"messages": [msg("system", "Answer from the passages."), msg("user", q)]})
                    );
                    assert_eq!(v["preferred_output"], json!([msg("assistant", chosen)]));
                    assert_eq!(v["non_preferred_output"], json!([msg("assistant", rejected)]));
                }
                ExportFormat::ShareGpt => {
                    assert_eq!(keys(v), BTreeSet::from(["conversations", "chosen", "rejected", "metadata"]));
                    assert_eq!(v["conversations"], json!([{"from": "human", "value": q}]));
                    assert_eq!(v["chosen"], json!({"from": "gpt", "value": chosen}));
                    assert_eq!(v["rejected"], json!({"from": "gpt", "value": rejected}));
                }
                ExportFormat::Alpaca => {
                    assert_eq!(keys(v), BTreeSet::from(["instruction", "input", "chosen", "rejected", "metadata"]));
                    assert_eq!((&v["instruction"], &v["input"]), (&json!(q), &json!("")));
                    assert_eq!((&v["chosen"], &v["rejected"]), (&json!(chosen), &json!(rejected)));
                }
                ExportFormat::Text => assert_eq!(v["text"], format!("{q}\n\n{chosen}")),
                ExportFormat::Jsonl => {
                    let back: Record = serde_json::from_value(v.clone()).unwrap();
                    assert_eq!(back.preference.rejected, r.preference.rejected);
                    continue;
                }
            }
            let m = &v["metadata"];
            assert_eq!(m["task"], "dpo");
            assert_eq!(m["parent_id"], "run1-000001");
            assert_eq!(m["preference"]["method"], r.preference.method.as_str());
            assert_eq!(keys(&m["preference"]), BTreeSet::from(["method", "detail", "model", "verdict", "support"]));
            assert_eq!(m["citations"][0]["quote"], OXYGEN);
        }
    }

    // A score that is not a number still gives a number.
    let mut nan = records.clone();
    nan[1].preference.support = f32::NAN;
    let (_dir, rows) = export_rows(&nan, ExportFormat::Alpaca);
    assert_eq!(rows[0]["metadata"]["preference"]["support"], json!(0.1));
    assert_eq!(rows[1]["metadata"]["preference"]["support"], json!(-1.0), "NaN becomes -1");

    // Without a system prompt the OpenAI prompt is the question alone.
    let dir = tempfile::tempdir().unwrap();
    let mut bare = card();
    bare.system_prompt.clear();
    export(&records[..1], ExportFormat::OpenAi, dir.path(), &bare).unwrap();
    let v = &rows_of(dir.path())[0];
    assert_eq!(v["input"], json!({"messages": [msg("user", &records[0].question)]}));
}

#[test]
fn pretrain_and_qa_exports_keep_their_shape() {
    let records = vec![pretrain(0), pretrain(1)];
    for format in ExportFormat::ALL {
        let (_dir, rows) = export_rows(&records, format);
        for (v, r) in rows.iter().zip(&records) {
            match format {
                ExportFormat::OpenAi => assert_eq!(
                    v["messages"],
                    json!([
                        msg("system", "Answer from the passages."),
                        msg("user", "Combustion"),
                        msg("assistant", &r.answer)
                    ])
                ),
                ExportFormat::ShareGpt => assert_eq!(v["conversations"][1]["value"], r.answer.as_str()),
                ExportFormat::Alpaca => {
                    assert_eq!(keys(v), BTreeSet::from(["instruction", "input", "output", "metadata"]));
                    assert_eq!(v["output"], r.answer.as_str());
                }
                ExportFormat::Trl => assert_eq!(v["completion"], json!([msg("assistant", &r.answer)])),
                ExportFormat::Text => {
                    assert_eq!(keys(v), BTreeSet::from(["text", "metadata"]));
                    assert_eq!(v["text"], r.answer.as_str());
                }
                ExportFormat::Jsonl => continue,
            }
            let m = &v["metadata"];
            assert_eq!(m["task"], "pretrain");
            assert_eq!(m["topic_path"], json!(["Chemistry", "Combustion"]));
            let paragraphs = m["turns"].as_array().unwrap();
            assert_eq!(paragraphs.len(), 2);
            assert_eq!(paragraphs[0]["role"], "text");
            assert_eq!(paragraphs[1]["citations"][0]["quote"], WATER);
            assert_eq!(paragraphs[1]["verdict"], "partial");
        }
    }

    // A qa record among passages gets the turns it stands for, so every row has the keys.
    let mut qa = base("qa", 2, Verdict::Supported, 0.9);
    qa.question = "What feeds the flame?".into();
    qa.answer = "Oxygen.".into();
    qa.citations = vec![cite(1, "c-1", OXYGEN)];
    let mixed = vec![pretrain(0), qa];
    let (_dir, rows) = export_rows(&mixed, ExportFormat::Alpaca);
    let t = rows[1]["metadata"]["turns"].as_array().unwrap();
    assert_eq!((t.len(), &t[0]["role"], &t[1]["role"]), (2, &json!("user"), &json!("assistant")));
    assert_eq!(t[1]["citations"][0]["quote"], OXYGEN);
    assert_eq!(rows[1]["metadata"]["task"], "qa");
}

#[test]
fn topic_runs_export_as_jsonl_only() {
    let records = vec![topic(0), topic(1)];
    let (_dir, rows) = export_rows(&records, ExportFormat::Jsonl);
    assert_eq!(rows[0]["topic_path"], json!(["Chemistry", "Combustion", "Air <i>"]));
    for format in ExportFormat::ALL.into_iter().filter(|f| *f != ExportFormat::Jsonl) {
        let dir = tempfile::tempdir().unwrap();
        let err = export(&records, format, dir.path(), &card()).unwrap_err();
        assert!(matches!(err, ReportError::TopicExport { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("jsonl") && msg.contains("tree.json") && msg.contains(format.as_str()), "{msg}");
        assert!(!dir.path().join("data").exists(), "nothing is written");
    }
}

#[test]
fn dpo_is_not_mixed_with_other_tasks_in_chat_formats() {
    let mixed = vec![dpo(0), followup(1)];
    for format in [ExportFormat::OpenAi, ExportFormat::ShareGpt, ExportFormat::Alpaca, ExportFormat::Trl] {
        let dir = tempfile::tempdir().unwrap();
        let err = export(&mixed, format, dir.path(), &card()).unwrap_err();
        assert!(matches!(err, ReportError::MixedTasks { .. }), "{err}");
        assert!(err.to_string().contains("dpo, followup"), "{err}");
    }
    // Text and jsonl rows share one shape whatever the task.
    for format in [ExportFormat::Text, ExportFormat::Jsonl] {
        let (_dir, rows) = export_rows(&mixed, format);
        if format == ExportFormat::Text {
            assert_eq!(rows[1]["metadata"]["preference"]["method"], "", "absent preference: empty strings");
            assert_eq!(rows[0]["metadata"]["turns"].as_array().unwrap().len(), 2);
        }
    }
}

/// The YAML front matter of a card.
fn front_matter(card: &str) -> &str {
    let rest = card.strip_prefix("---\n").expect("front matter opens the card");
    &rest[..rest.find("\n---\n").expect("front matter closes") + 1]
}

#[test]
fn cards_describe_each_task() {
    let c = card();
    let dpo_card = render_card(&[dpo(0), dpo(1)], ExportFormat::Trl, &c);
    let yaml = front_matter(&dpo_card);
    assert!(yaml.contains("tags:\n- synthetic\n- grounded\n- citations\n- quarry\n- dpo\n- preference\n"), "{yaml}");
    assert!(yaml.contains("task_categories:\n- question-answering\n- text-generation\n"));
    assert!(dpo_card.contains("2 preference pairs"));
    assert!(dpo_card.contains("TRL conversational preference format with an explicit prompt"));
    assert!(dpo_card.contains("| perturbation | 2 |"));
    assert!(dpo_card.contains("`preference` tells how the rejected side was made"));
    assert!(dpo_card.contains("- Model: qwen"));
    assert!(dpo_card.contains("- Candle &lt;Lectures&gt; &amp; \"Co\""));

    let pre = render_card(&[pretrain(0)], ExportFormat::OpenAi, &c);
    assert!(front_matter(&pre).contains("task_categories:\n- text-generation\nsize_categories"), "{pre}");
    assert!(front_matter(&pre).contains("- pretraining\n"));
    let text = render_card(&[followup(0)], ExportFormat::Text, &c);
    assert!(front_matter(&text).contains("task_categories:\n- text-generation\nsize_categories"));
    assert!(text.contains("Plain-text format"));

    let conv = render_card(&dialogues("conversation"), ExportFormat::Alpaca, &c);
    assert!(front_matter(&conv).contains("- dialogue\n- multi-turn\n- conversation\n"));
    assert!(conv.contains("Alpaca format with history"));
    assert!(conv.contains("| conversation | 2 |"));
    assert!(conv.contains("2 dialogues, 10 turns (5.0 per dialogue)."));
    assert!(conv.contains("`turns` lists each turn"));
    assert!(conv.contains("annotations_creators:\n- machine-generated\n"));
}

/// Every export shape of every task, read back by Hugging Face `datasets` (the test
/// virtualenv that scripts/setup.sh --tests creates).
#[test]
fn hugging_face_datasets_loads_every_export() {
    let python = quarry_core::cache_dir().join("test-venv/bin/python");
    assert!(python.exists(), "{} is needed (scripts/setup.sh --tests creates it)", python.display());
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let sets: [(&str, Vec<Record>); 5] = [
        ("followup", dialogues("followup")),
        ("conversation", dialogues("conversation")),
        ("dpo", vec![dpo(0), dpo(1)]),
        ("pretrain", vec![pretrain(0), pretrain(1)]),
        ("topic", vec![topic(0), topic(1)]),
    ];
    for (task, records) in &sets {
        for format in ExportFormat::ALL {
            if *task == "topic" && format != ExportFormat::Jsonl {
                continue;
            }
            let dir = tmp.path().join(format!("{task}-{format}"));
            export(records, format, &dir, &card()).unwrap();
            files.push(dir.join("data/train.jsonl"));
        }
    }
    let corpus = tmp.path().join("corpus");
    export_corpus_text(corpus_chunks().into_iter(), &TextQuality::default(), &corpus, &card()).unwrap();
    files.push(corpus.join("data/train.jsonl"));
    let script = "import datasets, sys\n\
        datasets.disable_progress_bars()\n\
        for f in sys.argv[1:]:\n\
        \x20   d = datasets.load_dataset('json', data_files=f, split='train')\n\
        \x20   print(len(d), f)\n";
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HOME", tmp.path().join("hf"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
}

// ---------------------------------------------------------------- corpus text

const PROSE: &str = "There is no better door by which you can enter into the study of natural philosophy \
    than by considering the physical phenomena of a candle. The wick draws the melted wax up to the flame, \
    where the heat turns it into vapour, and the vapour burns in the air around it.\n\
    The cup that holds the liquid wax is kept cool by the current of air rising along the outside of the \
    candle, so the edge stays solid while the middle melts.";

fn chunk(id: &str, text: &str) -> CorpusChunk {
    CorpusChunk {
        chunk_id: id.into(),
        doc_id: "doc_c".into(),
        title: "The Chemical History of a Candle".into(),
        heading_path: vec!["Lecture I".into()],
        text: text.into(),
    }
}

fn corpus_chunks() -> Vec<CorpusChunk> {
    let table = "| --- | --- | --- |\n| 1.5 | 2.25 | 3.0 |\n| *** | ### | @@@ |\n".repeat(6);
    let repeated = "Subscribe to our newsletter for more candle facts.\n".repeat(8);
    let boilerplate = "buy candles now and save big on wax ".repeat(10);
    vec![
        chunk("c-0", PROSE),
        chunk("c-1", &table),
        chunk("c-2", &repeated),
        chunk("c-3", "Lecture II."),
        chunk("c-4", &boilerplate),
        chunk("c-5", &PROSE.replace("candle", "lamp")),
    ]
}

#[test]
fn text_quality_catches_planted_bad_chunks_and_keeps_prose() {
    let cfg = TextQuality::default();
    let chunks = corpus_chunks();
    let verdicts: Vec<Result<(), TextReject>> = chunks.iter().map(|c| text_quality(&c.text, &cfg)).collect();
    assert_eq!(
        verdicts,
        [
            Ok(()),
            Err(TextReject::Symbols),
            Err(TextReject::Repetition),
            Err(TextReject::TooShort),
            Err(TextReject::Repetition),
            Ok(()),
        ]
    );
    assert_eq!(TextReject::ALL.map(TextReject::as_str), ["too_short", "too_long", "symbols", "repetition"]);
    // The limits are the caller's.
    let tight = TextQuality { max_words: 40, ..TextQuality::default() };
    assert_eq!(text_quality(PROSE, &tight), Err(TextReject::TooLong));
    let tight = TextQuality { max_chars: 200, ..TextQuality::default() };
    assert_eq!(text_quality(PROSE, &tight), Err(TextReject::TooLong));
    let loose = TextQuality { min_words: 1, min_chars: 1, ..TextQuality::default() };
    assert_eq!(text_quality("Lecture II.", &loose), Ok(()));
    // Non-Latin prose is letters, not symbols.
    let short = TextQuality { min_words: 1, min_chars: 10, ..TextQuality::default() };
    assert_eq!(text_quality("蝋燭の炎は空気の中で燃え、芯は溶けた蝋を炎まで吸い上げる。", &short), Ok(()));
    // A long sentence repeated on one line: its 5-grams repeat, though no 3-gram dominates.
    let sentence = "the wick draws melted wax up into the flame where heat turns it to vapour. ";
    assert_eq!(text_quality(&sentence.repeat(6), &cfg), Err(TextReject::Repetition));
}

#[test]
fn corpus_text_export_writes_the_chunks_that_pass() {
    let dir = tempfile::tempdir().unwrap();
    let s = export_corpus_text(corpus_chunks().into_iter(), &TextQuality::default(), dir.path(), &CardInfo::default())
        .unwrap();
    assert_eq!((s.kept, s.documents), (2, 1));
    assert_eq!(s.skipped_total(), 4);
    let skipped: Vec<(&str, usize)> = s.skipped.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(skipped, [("too_short", 1), ("too_long", 0), ("symbols", 1), ("repetition", 2)]);
    assert_eq!(s.path, dir.path().join("data/train.jsonl"));
    let rows = rows_of(dir.path());
    assert_eq!(rows.len(), 2);
    for (row, id) in rows.iter().zip(["c-0", "c-5"]) {
        assert_eq!(keys(row), BTreeSet::from(["text", "chunk_id", "doc_id", "title", "heading_path"]));
        assert_eq!(row["chunk_id"], id);
        assert_eq!(row["heading_path"], json!(["Lecture I"]));
    }
    assert_eq!(rows[0]["text"], PROSE);
    assert_eq!(fs::read_dir(dir.path().join("data")).unwrap().count(), 1, "temp file left behind");

    let readme = fs::read_to_string(&s.card_path).unwrap();
    let yaml = front_matter(&readme);
    assert!(yaml.contains("task_categories:\n- text-generation\nsize_categories:\n- n<1K\n"), "{yaml}");
    assert!(yaml.contains("pretty_name: \"quarry corpus text\"") && yaml.contains("license: \"other\""));
    assert!(!yaml.contains("machine-generated"), "the text is the corpus's own");
    assert!(readme.contains("2 chunks from 1 document"));
    assert!(readme.contains("| repetition | 2 |") && readme.contains("| too\\_short | 1 |"));
    assert!(readme.contains("- The Chemical History of a Candle"), "sources default to the kept documents");
}

/// The task layouts in a real browser: every record renders, the filter script runs, and
/// scripts planted in turns, rejected sides and controls do not.
#[test]
fn task_report_renders_in_headless_chromium_and_planted_scripts_do_not_run() {
    let mut view = fixture();
    let plant = "<script>document.body.setAttribute('data-pwned','1')</script>";
    let close = "</script><script>document.title='pwned'</script>";
    view.records[0].turns[2].content = format!("Why {plant}?");
    view.records[1].controls.scenario = close.into();
    view.records[2].preference.rejected = format!("No {close} {plant}");
    view.records[3].turns[1].content.push_str(plant);
    view.records[4].topic_path.push(close.into());
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
    assert_eq!(dom.matches("class=\"record\"").count(), view.records.len());
    assert!(dom.contains("class=\"side rejected\""));
    assert!(!dom.contains("id=\"filters\" class=\"filters\" hidden"), "the filter script did not run");
    assert!(!dom.contains("data-pwned=\"1\""), "a planted script ran");
    assert!(!dom.contains("<title>pwned</title>"), "a planted script ran");
}
