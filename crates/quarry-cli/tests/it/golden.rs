//! Golden files: the same commands on the same index write the same bytes.
//!
//! `tests/fixtures/golden/` holds a small corpus, run directories of every task made by an
//! earlier build against the stub model ([`crate::stub`]), and what that build printed and
//! wrote when it read them back (report, exports, audit). This test
//!
//! 1. builds the index from the corpus and runs every task again with the stub model: the
//!    records, rejects, run.json (and tree.json) must equal the committed ones, timing
//!    fields aside;
//! 2. reads the committed run directories with this build: report.html, every export and
//!    `quarry audit` must equal what the earlier build wrote.
//!
//! The one change since the fixtures were made is checked and set aside explicitly
//! ([`without_duplicate_of`]).
//!
//! After a change that is meant to alter the output, regenerate the files with
//! `QUARRY_BLESS=1 cargo test --test it golden` and review the diff before committing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::stub::Stub;
use crate::util::*;

/// Keys whose values are measured times, not results.
const TIMING_KEYS: &[&str] =
    &["elapsed_s", "llm_s", "other_s", "question_ms", "retrieval_ms", "answer_ms", "verify_ms", "report", "load"];

/// Files of a run directory that a build writes.
const RUN_FILES: &[&str] = &["records.jsonl", "rejects.jsonl", "run.json", "tree.json"];

/// Export formats, each tried on every run.
const FORMATS: &[&str] = &["openai", "sharegpt", "alpaca", "trl", "jsonl", "text"];

fn fixture() -> PathBuf {
    repo("tests/fixtures/golden")
}

fn bless() -> bool {
    std::env::var_os("QUARRY_BLESS").is_some_and(|v| v == "1")
}

/// The runs: name and `generate` arguments (run in the temp dir, paths relative to it).
fn runs() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("qa", vec!["qa", "--index", "index", "--n", "8", "--seed", "7", "--out", "runs/qa"]),
        // More records wanted than the corpus has chunks: the same questions come again.
        (
            "qa-repeats",
            vec!["qa", "--index", "index", "--n", "12", "--budget", "2", "--seed", "3", "--out", "runs/qa-repeats"],
        ),
        (
            "qa-extractive",
            vec!["qa", "--index", "index", "--n", "2", "--seed", "7", "--extractive", "--out", "runs/qa-extractive"],
        ),
        // Sentence-first planning: each answer is the fact sentence the question was written for.
        (
            "qa-sentence",
            vec![
                "qa",
                "--index",
                "index",
                "--n",
                "4",
                "--seed",
                "5",
                "--extractive",
                "--plan",
                "sentence",
                "--out",
                "runs/qa-sentence",
            ],
        ),
        (
            "followup",
            vec![
                "followup",
                "--from",
                "runs/qa",
                "--index",
                "index",
                "--n",
                "3",
                "--turns",
                "2",
                "--out",
                "runs/followup",
            ],
        ),
        (
            "conversation",
            vec!["conversation", "--index", "index", "--n", "2", "--exchanges", "2", "--out", "runs/conversation"],
        ),
        (
            "topics",
            vec![
                "topics",
                "--index",
                "index",
                "--root",
                "Candles",
                "--breadth",
                "3",
                "--depth",
                "1",
                "--out",
                "runs/topics",
            ],
        ),
        ("dpo", vec!["dpo", "--from", "runs/qa", "--index", "index", "--n", "3", "--out", "runs/dpo"]),
        ("pretrain", vec!["pretrain", "--index", "index", "--n", "4", "--paragraphs", "2", "--out", "runs/pretrain"]),
    ]
}

/// `v` with every timing value set to 0 and the temp dir's path replaced.
fn normalise_json(v: &mut Value, tmp: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if TIMING_KEYS.contains(&k.as_str()) {
                    *x = Value::from(0);
                } else {
                    normalise_json(x, tmp);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalise_json(x, tmp)),
        // A record kept whole inside a reject (`raw`) has timings of its own.
        Value::String(s) if s.starts_with('{') && serde_json::from_str::<Value>(s).is_ok() => {
            let mut inner: Value = serde_json::from_str(s).unwrap();
            normalise_json(&mut inner, tmp);
            *s = inner.to_string();
        }
        Value::String(s) => *s = unport(&s.replace(tmp, "$TMP")),
        _ => {}
    }
}

/// `s` with the stub model's address (a new port each run) written `$STUB`.
fn unport(s: &str) -> String {
    const HOST: &str = "http://127.0.0.1:";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(HOST) {
        out.push_str(&rest[..i]);
        out.push_str("$STUB");
        rest = rest[i + HOST.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out + rest
}

/// A JSON or JSONL file's text with timings zeroed (one value per line, compact).
fn normalise(text: &str, tmp: &str) -> String {
    let parse_whole = serde_json::from_str::<Value>(text);
    let values: Vec<Value> = match parse_whole {
        Ok(v) => vec![v],
        Err(_) => text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect(),
    };
    values
        .into_iter()
        .map(|mut v| {
            normalise_json(&mut v, tmp);
            v.to_string() + "\n"
        })
        .collect()
}

/// Rejects as the build before `duplicate_of` wrote them. The one change to the files since
/// the fixtures were made: every reject names the record it duplicates (`""` for other
/// rejects). Checked here against the detail, which names it in words, then removed.
fn without_duplicate_of(jsonl: &str) -> String {
    let mut out = String::new();
    for line in jsonl.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let m = v.as_object_mut().unwrap();
        let of = m.remove("duplicate_of").expect("every reject has duplicate_of");
        let of = of.as_str().unwrap();
        if m["reason"] == "duplicate" {
            assert!(!of.is_empty() && m["detail"].as_str().unwrap().contains(of), "{line}");
        } else {
            assert_eq!(of, "", "{line}");
        }
        out.push_str(&(serde_json::to_string(&v).unwrap() + "\n"));
    }
    out
}

/// What one command printed: exit status, stdout and stderr without progress lines.
fn printed(o: &Output, tmp: &str) -> String {
    let out = unport(&stdout(o).replace(tmp, "$TMP"));
    let out = match serde_json::from_str::<Value>(out.trim()) {
        Ok(mut v) => {
            normalise_json(&mut v, tmp);
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        }
        Err(_) => out,
    };
    format!("exit: {:?}\n--- stdout\n{out}", o.status.code())
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into()));
            }
        }
    }
    out
}

fn write_files(dir: &Path, files: &BTreeMap<String, String>) {
    let _ = std::fs::remove_dir_all(dir);
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// Asserts two file sets are equal, naming the first differing file and line.
#[track_caller]
pub(crate) fn same(what: &str, expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) {
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(expected), names(actual), "{what}: the files differ");
    for (name, want) in expected {
        let got = &actual[name];
        if want != got {
            let line = want.lines().zip(got.lines()).position(|(a, b)| a != b).unwrap_or(0);
            let (w, g) = (want.lines().nth(line).unwrap_or("<end>"), got.lines().nth(line).unwrap_or("<end>"));
            // Show the lines from a little before the first differing character.
            let at = w.char_indices().zip(g.chars()).find(|((_, a), b)| a != b).map_or(0, |((i, _), _)| i);
            let from = w.floor_char_boundary(at.saturating_sub(120));
            let show = |s: &str| s.get(from..).unwrap_or(s).chars().take(400).collect::<String>();
            panic!(
                "{what}: {name} differs at line {}, byte {at}:\n  expected: …{}\n  actual:   …{}",
                line + 1,
                show(w),
                show(g)
            );
        }
    }
}

fn in_dir(tmp: &Path, args: &[&str]) -> Output {
    quarry().current_dir(tmp).args(args).output().expect("quarry runs")
}

/// A temp dir holding the golden corpus's index (`index`).
pub(crate) fn indexed() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = fixture().join("corpus");
    ok(&quarry()
        .current_dir(tmp.path())
        .arg("index")
        .arg(&corpus)
        .args(["--out", "index", "--json"])
        .output()
        .unwrap());
    tmp
}

/// `quarry generate <args>` against the stub, in `tmp`.
pub(crate) fn generate(tmp: &Path, args: &[&str], stub: &Stub) -> std::process::Command {
    let mut cmd = quarry();
    cmd.current_dir(tmp).arg("generate").args(args);
    cmd.args(["--base-url", &stub.url, "--llm-model", "stub", "--no-cache", "--json"]);
    cmd
}

/// The files a run wrote (records, rejects, run.json, tree.json), rejects with `duplicate_of`
/// checked and set aside.
pub(crate) fn run_files(out: &Path) -> BTreeMap<String, String> {
    let mut fresh = BTreeMap::new();
    for f in RUN_FILES {
        if let Ok(text) = std::fs::read_to_string(out.join(f)) {
            fresh.insert((*f).to_owned(), text);
        }
    }
    if let Some(rejects) = fresh.get_mut("rejects.jsonl") {
        *rejects = without_duplicate_of(rejects);
    }
    fresh
}

/// Files as compared: JSON with timings zeroed, printed text with the stub's port hidden.
pub(crate) fn comparable<'a>(
    m: impl IntoIterator<Item = (&'a String, &'a String)>,
    tmp: &str,
) -> BTreeMap<String, String> {
    m.into_iter().map(|(k, v)| (k.clone(), if k.ends_with(".txt") { unport(v) } else { normalise(v, tmp) })).collect()
}

/// Every task, killed with SIGKILL at several points and resumed with the same command,
/// ends with the same files as the run done in one go.
#[test]
fn every_task_killed_and_resumed_writes_the_same_bytes() {
    let tmp_dir = indexed();
    let tmp = tmp_dir.path();
    let tmp_s = tmp.display().to_string();
    let stub = Stub::start_slow(std::time::Duration::from_millis(250));
    let mut cut_short = Vec::new();
    for (name, args) in runs() {
        let out = tmp.join("runs").join(name);
        // One slot at a time, so that lines come one by one and a kill lands between them.
        let one_at_a_time = || {
            let mut cmd = generate(tmp, &args, &stub);
            cmd.args(["--concurrency", "1"]);
            cmd
        };
        let written = kill_at_points(&out, &[1], one_at_a_time);
        let o = generate(tmp, &args, &stub).output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {}", stderr(&o));
        if written < run_lines(&out) {
            cut_short.push(name);
        }
        let committed = files(&fixture().join("runs").join(name));
        let committed = comparable(committed.iter().filter(|(k, _)| RUN_FILES.contains(&k.as_str())), &tmp_s);
        same(&format!("{name} killed and resumed"), &committed, &comparable(&run_files(&out), &tmp_s));
    }
    // The kill must land inside a run, not after it, for the test to mean anything. It cannot
    // for DPO pairs by perturbation (no model call: the run is over at once) and topic trees
    // (every node's line is written once the whole tree is built).
    assert!(cut_short.len() >= 5, "only {cut_short:?} were killed before they ended");
}

#[test]
fn the_same_commands_write_the_same_bytes() {
    let tmp_dir = indexed();
    let tmp = tmp_dir.path();
    let tmp_s = tmp.display().to_string();
    let stub = Stub::start();

    // 1. Fresh runs against the stub model.
    for (name, args) in runs() {
        let o = generate(tmp, &args, &stub).output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {}", stderr(&o));
        let mut fresh = run_files(&tmp.join("runs").join(name));
        fresh.insert("stdout.txt".into(), printed(&o, &tmp_s));
        let committed = fixture().join("runs").join(name);
        if bless() {
            write_files(&committed, &fresh);
        }
        same(&format!("fresh run {name}"), &comparable(&files(&committed), &tmp_s), &comparable(&fresh, &tmp_s));
    }

    // Sentence-first: every answer is the fact sentence of its seed chunk, cited there.
    let planned = lines(&tmp.join("runs/qa-sentence/records.jsonl"));
    assert!(!planned.is_empty(), "sentence-first planning accepted nothing");
    for r in &planned {
        assert_eq!(r["citations"][0]["chunk_id"], r["seed_chunks"][0], "{r}");
    }

    // 2. The committed run directories, read by this build.
    for (name, _) in runs() {
        let run = tmp.join("golden").join(name);
        write_files(&run, &files(&fixture().join("runs").join(name)));
        let rel = format!("golden/{name}");
        let mut read: BTreeMap<String, String> = BTreeMap::new();
        let o = in_dir(tmp, &["report", &rel]);
        read.insert("report.txt".into(), printed(&o, &tmp_s));
        if let Ok(html) = std::fs::read_to_string(run.join("report.html")) {
            read.insert("report.html".into(), html);
        }
        read.insert("audit.txt".into(), printed(&in_dir(tmp, &["audit", &rel]), &tmp_s));
        read.insert("audit-json.txt".into(), printed(&in_dir(tmp, &["audit", &rel, "--json"]), &tmp_s));
        let first = lines(&run.join("records.jsonl")).first().map(|r| r["id"].as_str().unwrap().to_owned());
        let first_reject = lines(&run.join("rejects.jsonl")).first().map(|r| r["id"].as_str().unwrap().to_owned());
        for (label, id) in [("record", first), ("reject", first_reject)] {
            if let Some(id) = id {
                read.insert(format!("audit-{label}.txt"), printed(&in_dir(tmp, &["audit", &rel, &id]), &tmp_s));
            }
        }
        for f in FORMATS {
            let out = format!("exports/{name}-{f}");
            let o = in_dir(tmp, &["export", &rel, "--format", f, "--out", &out]);
            read.insert(format!("export-{f}.txt"), printed(&o, &tmp_s));
            for (file, text) in files(&tmp.join(&out)) {
                read.insert(format!("export-{f}/{file}"), text);
            }
        }
        let expected = fixture().join("expected").join(name);
        if bless() {
            write_files(&expected, &read);
        }
        same(&format!("reading the committed run {name}"), &files(&expected), &read);
    }
}
