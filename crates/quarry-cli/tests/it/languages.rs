//! Generation beyond English: a Hindi corpus (XQuAD paragraphs) run end to end against the
//! replay server (`scripts/replay-server.py`, a real OpenAI-compatible server on 127.0.0.1
//! that answers from the XQuAD gold), prompts that ask for Hindi, Hindi verification rules,
//! and a dataset card that lists the language.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::replay::Replay;
use crate::util::*;

pub(crate) fn fixture() -> PathBuf {
    repo("tests/fixtures/xquad-hi")
}

/// Indexes the ten Hindi paragraphs once per test.
pub(crate) fn hindi_index(tmp: &Path) -> PathBuf {
    let index = tmp.join("index");
    let o = run([Path::new("index"), &fixture().join("corpus"), Path::new("--out"), &index, Path::new("-q")]);
    ok(&o);
    index
}

fn generate(index: &Path, out: &Path, replay: &Replay, n: usize) -> Value {
    let o = quarry()
        .args(["generate", "qa", "--index"])
        .arg(index)
        .args(["--n", &n.to_string(), "--budget", "1", "--seed", "1", "--out"])
        .arg(out)
        .args(["--base-url", &replay.url, "--llm-model", "replay", "--no-cache", "--json", "-q"])
        .output()
        .unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    serde_json::from_str(stdout(&o).trim()).expect("the run's summary is JSON")
}

fn devanagari(s: &str) -> bool {
    s.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c))
}

#[test]
fn a_hindi_corpus_is_generated_verified_and_exported_in_hindi() {
    let tmp = tempfile::tempdir().unwrap();
    let index = hindi_index(tmp.path());
    // Every document knows it is Hindi.
    assert!(inspect(&index.join("store")).docs.iter().all(|d| d["metadata"]["language"] == "hi"));

    // Correct short answers (the gold, "308."), cited where they stand: kept.
    let replay = Replay::start(&fixture().join("corpus.json"), "short");
    let out = tmp.path().join("run-short");
    let run = generate(&index, &out, &replay, 10);
    let stats = replay.stats();
    // Every prompt asked for Hindi.
    assert_eq!(stats["asked_in"].as_object().unwrap().keys().collect::<Vec<_>>(), ["Hindi"], "{stats}");
    assert_eq!(stats["asked_in"]["Hindi"], stats["question"].as_u64().unwrap() + stats["answer"].as_u64().unwrap());
    let records = lines(&out.join("records.jsonl"));
    assert_eq!(run["accepted"].as_u64().unwrap() as usize, records.len());
    // Four of these ten are lost for reasons of their own (measured with seed 1): XQuAD's
    // question adds a year its paragraph never states ("2015 में…", a false premise by the
    // evidence), a translated gold answer that answers another question, a paraphrase, and
    // an answer in a chunk that retrieval did not show.
    assert!(records.len() >= 6, "{} of 10 correct Hindi answers kept: {}", records.len(), run["counts_by_reason"]);
    for r in &records {
        assert!(devanagari(r["question"].as_str().unwrap()), "{r}");
        assert_eq!(r["verdict"], "supported");
    }
    drop(replay);
    // The report counts the records by their documents' language.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&format!(">hi {}</div><div class=\"l\">records by language<", records.len())),
        "no language tile"
    );

    // The answer of another question of the same paragraph: turned down.
    let replay = Replay::start(&fixture().join("corpus.json"), "wrong");
    // Measured over 96 XQuAD Hindi paragraphs (scripts/bench-replay.sh with REPLAY_DATA), 20%
    // of such answers pass; here they must stay well below the correct ones.
    let wrong = generate(&index, &tmp.path().join("run-wrong"), &replay, 10);
    let wrong_accepted = wrong["accepted"].as_u64().unwrap() as usize;
    assert!(wrong_accepted <= 3 && wrong_accepted * 2 < records.len(), "wrong Hindi answers accepted: {wrong}");
    drop(replay);

    // The dataset card lists the language of the cited documents.
    let dir = tmp.path().join("export");
    let o = run_export(&out, &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(card.contains("language:\n- \"hi\"\n"), "{card}");
}

fn run_export(out: &Path, dir: &Path) -> std::process::Output {
    run([Path::new("export"), out, Path::new("--format"), Path::new("openai"), Path::new("--out"), dir])
}

#[test]
fn english_answers_to_a_hindi_corpus_are_the_wrong_language() {
    // The replay server's `english` style: the gold answer inside an English sentence, as a
    // model that ignores the language it was asked for writes it.
    let tmp = tempfile::tempdir().unwrap();
    let index = hindi_index(tmp.path());
    let replay = Replay::start(&fixture().join("corpus.json"), "english");
    let out = tmp.path().join("run");
    let run = generate(&index, &out, &replay, 4);
    assert_eq!(run["accepted"], 0, "{run}");
    let rejects = lines(&out.join("rejects.jsonl"));
    // Every answer was turned down for its language (a question may fall earlier).
    let answered: Vec<&Value> = rejects.iter().filter(|r| r["stage"] != "question").collect();
    assert!(answered.len() >= 2, "{rejects:?}");
    for r in answered {
        assert_eq!(r["reason"], "wrong_language", "{r}");
        assert!(r["detail"].as_str().unwrap().contains("written in English, not Hindi"), "{r}");
    }
}
