//! A person in the loop: the report's review mode driven in a real browser (headless
//! chromium, keys and clicks), decisions.json downloaded, `quarry review apply` moving the
//! rejected record to rejects and confirming the kept ones, exports limited to them.

use std::path::Path;

use crate::browser::Browser;
use crate::golden::generate;
use crate::stub::Stub;
use crate::util::*;

const PLANT: &str = "<script>document.body.setAttribute('data-pwned','1')</script>";
const CORPUS_PLANT: &str = "<script>document.body.setAttribute('data-pwned','2')</script>";

#[test]
fn a_reviewer_decides_in_the_report_and_the_decisions_apply_to_the_run() {
    // The corpus itself carries a script: the report shows it as text.
    let tmp_dir = tempfile::tempdir().unwrap();
    let t = tmp_dir.path();
    let corpus = t.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for f in ["candle.md", "snow.md", "tower.md"] {
        let mut text = std::fs::read_to_string(repo(&format!("tests/fixtures/golden/corpus/{f}"))).unwrap();
        if f == "candle.md" {
            text = text
                .replace("The melted wax rises", &format!("The wick {CORPUS_PLANT} is cotton. The melted wax rises"));
        }
        std::fs::write(corpus.join(f), text).unwrap();
    }
    ok(&crate::util::quarry().current_dir(t).args(["index", "corpus", "--out", "index", "-q"]).output().unwrap());
    let stub = Stub::start();
    // The run records its index as `index`, relative to the temp dir.
    let quarry = || {
        let mut c = crate::util::quarry();
        c.current_dir(t);
        c
    };
    ok(&generate(t, &["qa", "--index", "index", "--n", "6", "--seed", "7", "--out", "runs/qa"], &stub)
        .output()
        .unwrap());
    let run = t.join("runs/qa");
    // Model text with a script in it: the report shows it as text.
    let records = std::fs::read_to_string(run.join("records.jsonl")).unwrap();
    let mut rows: Vec<serde_json::Value> = records.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let q = rows[0]["question"].as_str().unwrap().replace('?', &format!(" {PLANT}?"));
    rows[0]["question"] = q.into();
    let text: String = rows.iter().map(|v| v.to_string() + "\n").collect();
    std::fs::write(run.join("records.jsonl"), text).unwrap();
    ok(&quarry().arg("report").arg(&run).output().unwrap());
    let ids: Vec<String> = rows.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    // (The question's terms are marked inside it, so it is looked for in pieces.)
    let shown = html.find("is cotton").map(|i| &html[html.floor_char_boundary(i.saturating_sub(400))..i]);
    assert!(
        shown.is_some_and(|s| s.contains("&lt;") && s.contains("pwned") && !s.contains("<script")),
        "the corpus's script is not shown as text: {shown:?}"
    );

    let downloads = t.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let url = format!("file://{}", run.join("report.html").display());
    let mut b = Browser::open(&url, &t.join("profile"), &downloads);
    b.wait_for("document.getElementById('review-toggle') !== null");
    b.key("v");
    b.wait_for("!document.getElementById('review').hidden");
    b.click("#review-reviewer");
    b.type_text("ana");
    b.key("Enter");
    b.key("a"); // keep record 1
    b.key("a"); // keep record 2
    b.key("2"); // reason: evidence does not state it
    b.key("n");
    b.type_text(&format!("cites the wrong sentence {PLANT}"));
    b.key("Enter");
    b.key("r"); // reject record 3
    b.key("j"); // leave record 4 undecided
    b.click("#review-keep"); // keep record 5, with the mouse
    let state = |b: &mut Browser| b.eval("document.getElementById('review-progress').textContent");
    assert!(state(&mut b).as_str().unwrap().starts_with("4 of 6 decided (3 kept, 1 rejected)"), "{}", state(&mut b));
    let marked =
        b.eval("Array.from(document.querySelectorAll('article.record')).map(e => e.getAttribute('data-review'))");
    assert_eq!(marked, serde_json::json!(["keep", "keep", "reject", null, "keep", null]));
    // The decisions stay in the browser: a new visit shows them.
    b.call("Page.navigate", serde_json::json!({"url": url}));
    b.wait_for("document.readyState === 'complete' && document.getElementById('review-toggle') !== null");
    b.key("v");
    b.wait_for("!document.getElementById('review').hidden");
    assert!(state(&mut b).as_str().unwrap().starts_with("4 of 6 decided"), "{}", state(&mut b));
    let shot = std::env::var_os("QUARRY_REVIEW_SCREENSHOT").map_or_else(|| t.join("review.png"), Into::into);
    b.screenshot(Path::new(&shot));
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "the screenshot is empty");
    b.key("d");
    let file = downloads.join("decisions.json");
    let started = std::time::Instant::now();
    while !file.exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "decisions.json was not downloaded");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // No planted script ran: not from the corpus, the model's text or the reviewer's note.
    assert_eq!(b.eval("document.body.getAttribute('data-pwned')"), serde_json::Value::Null, "a planted script ran");
    drop(b);

    let decisions: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let ds = decisions["decisions"].as_array().unwrap();
    assert_eq!(ds.len(), 4, "{decisions}");
    let rejected = ds.iter().find(|d| d["decision"] == "reject").unwrap();
    assert_eq!(rejected["id"], ids[2].as_str());
    assert_eq!(rejected["category"], "unsupported");
    assert_eq!(rejected["reviewer"], "ana");
    assert!(rejected["note"].as_str().unwrap().contains(PLANT), "the note is kept as typed");

    let apply = |f: &Path| quarry().args(["review", "apply"]).arg(&run).arg(f).arg("--json").output().unwrap();
    let o = apply(&file);
    ok(&o);
    let done: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((done["rejected"].as_u64(), done["confirmed"].as_u64()), (Some(1), Some(3)), "{done}");
    let rejects = lines(&run.join("rejects.jsonl"));
    let r = rejects.iter().find(|r| r["id"] == ids[2].as_str()).expect("the rejected record is in rejects");
    assert_eq!((r["stage"].as_str(), r["reason"].as_str()), (Some("review"), Some("unsupported")));
    assert!(
        r["detail"].as_str().unwrap().contains("cites the wrong sentence")
            && r["detail"].as_str().unwrap().contains("ana")
    );
    assert!(!lines(&run.join("records.jsonl")).iter().any(|x| x["id"] == ids[2].as_str()));
    // Again: nothing changes.
    let before = (std::fs::read(run.join("records.jsonl")).unwrap(), std::fs::read(run.join("rejects.jsonl")).unwrap());
    let again: serde_json::Value = serde_json::from_str(&stdout(&apply(&file))).unwrap();
    assert_eq!((again["rejected"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(4)), "{again}");
    assert_eq!(
        before,
        (std::fs::read(run.join("records.jsonl")).unwrap(), std::fs::read(run.join("rejects.jsonl")).unwrap())
    );
    // A decision for a record the run does not have refuses the file; nothing is applied.
    let stray = t.join("stray.json");
    let bad = serde_json::json!({"decisions": [{"id": format!("{}-999999", &ids[0][..8]), "decision": "reject"}, {"id": ids[3], "decision": "reject"}]});
    std::fs::write(&stray, bad.to_string()).unwrap();
    let o = apply(&stray);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("999999") && stderr(&o).contains("nothing applied"), "{}", stderr(&o));
    assert!(lines(&run.join("records.jsonl")).iter().any(|x| x["id"] == ids[3].as_str()));
    // Exports leave the rejected record out; --reviewed-only keeps the confirmed ones only.
    let export = |dir: &str, extra: &[&str]| {
        let o = quarry()
            .arg("export")
            .arg(&run)
            .args(["--format", "openai", "--out"])
            .arg(t.join(dir))
            .args(extra)
            .output()
            .unwrap();
        ok(&o);
        lines(&t.join(dir).join("data/train.jsonl")).len()
    };
    assert_eq!(export("all", &[]), 5);
    assert_eq!(export("reviewed", &["--reviewed-only"]), 3);
    // The reviewed records join the judged set, in its format; a second time adds nothing.
    let judged = t.join("judged");
    let export_judged = || {
        let o = quarry()
            .args([
                "review",
                "export-judged",
                "runs/qa",
                "--corpus",
                "golden",
                "--part",
                "tuning",
                "--source",
                "stub",
                "--to",
            ])
            .arg(&judged)
            .output()
            .unwrap();
        ok(&o);
    };
    export_judged();
    let items = lines(&judged.join("items.jsonl"));
    let judgments = lines(&judged.join("judgments.jsonl"));
    assert_eq!((items.len(), judgments.len()), (4, 4));
    let keys =
        |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    let set_item: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(repo("tests/judged/items.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    assert_eq!(keys(&items[0]), keys(&set_item), "an item is not in the judged set's format");
    let bad: Vec<&serde_json::Value> = judgments.iter().filter(|j| j["label"] == "bad").collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["category"], "unsupported");
    assert!(bad[0]["id"].as_str().unwrap().ends_with(&ids[2]));
    assert!(items.iter().all(|i| !i["passages"].as_array().unwrap().is_empty()));
    export_judged();
    assert_eq!(lines(&judged.join("items.jsonl")).len(), 4, "a second export added items again");
    // The rejected record still leads to its kind.
    let o = quarry().arg("similar").arg(&run).arg(&ids[2]).args(["--k", "2", "--json"]).output().unwrap();
    ok(&o);
    let near: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(near.as_array().unwrap().len(), 2, "{near}");
}
