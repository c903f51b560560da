//! Markdown, HTML, EPUB, JSONL (BEIR included) and directories with globs.

use crate::util::*;

#[test]
fn markdown_headings_become_heading_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("notes.md");
    std::fs::write(&md, "# Combustion\n\nA candle burns wax.\n\n## Products\n\nWater and carbon dioxide.\n\n### Water\n\nCondenses on cold glass.\n\n```\n# not a heading\n```\n").unwrap();
    let out = tmp.path().join("store");
    ingest(&[&md], &out, &[]);
    let d = inspect(&out);
    check_spans(&d);
    assert_eq!(d.docs[0]["title"], "Combustion");
    assert_eq!(
        heading_paths(&d, &d.docs[0]),
        ["Combustion › Combustion", "Combustion › Combustion › Products", "Combustion › Combustion › Products › Water"]
    );
}

#[test]
fn html_readable_text_and_headings() {
    let tmp = tempfile::tempdir().unwrap();
    let html = tmp.path().join("page.html");
    std::fs::write(
        &html,
        "<!doctype html><html><head><title>Oxygen</title><script>var x = 1;</script></head><body>\
         <nav><a href='/'>Home</a></nav><h1>Oxygen</h1><p>Oxygen supports <em>combustion</em>.</p>\
         <h2>Discovery</h2><p>Priestley &amp; Scheele found it.</p></body></html>",
    )
    .unwrap();
    let out = tmp.path().join("store");
    ingest(&[&html], &out, &[]);
    let d = inspect(&out);
    check_spans(&d);
    let text = d.docs[0]["text"].as_str().unwrap();
    assert!(!text.contains("var x") && !text.contains("Home") && !text.contains('<'), "{text}");
    assert!(text.contains("Priestley & Scheele found it."));
    assert_eq!(heading_paths(&d, &d.docs[0]), ["Oxygen › Oxygen", "Oxygen › Oxygen › Discovery"]);
}

#[test]
fn epub_chapters_in_spine_order_with_titles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    ingest(&[&repo("tests/fixtures/candle.epub")], &out, &[]);
    let d = inspect(&out);
    check_spans(&d);
    let doc = &d.docs[0];
    assert_eq!(doc["title"], "The Chemical History of a Candle");
    assert_eq!(doc["metadata"]["author"], "Michael Faraday");
    let text = doc["text"].as_str().unwrap();
    let first = text.find("I purpose").unwrap();
    let second = text.find("We were occupied").unwrap();
    assert!(first < second, "chapters out of spine order");
    let paths = heading_paths(&d, doc);
    assert!(
        paths.contains(&"The Chemical History of a Candle › Lecture I. A Candle: The Flame".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"The Chemical History of a Candle › Lecture II. Brightness of the Flame".to_owned()),
        "{paths:?}"
    );
}

#[test]
fn jsonl_and_beir_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let beir = tmp.path().join("corpus.jsonl");
    std::fs::write(
        &beir,
        "{\"_id\": \"doc1\", \"title\": \"Candle\", \"text\": \"A candle is a wick in wax.\", \"metadata\": {}}\n\
         {\"_id\": \"doc2\", \"title\": \"\", \"text\": \"Flames are hot.\"}\n\n\
         {\"id\": 3, \"title\": \"Empty\", \"text\": \"\"}\n",
    )
    .unwrap();
    let out = tmp.path().join("store");
    let summary = ingest(&[&beir], &out, &[]);
    assert_eq!(summary["documents"], 2);
    assert_eq!(summary["skipped"]["empty"], 1);
    assert!(stderr_free(&summary));
    let d = inspect(&out);
    check_spans(&d);
    assert_eq!(d.docs[0]["metadata"]["source_id"], "doc1");
    assert_eq!(d.docs[0]["locator"], "id doc1");
    assert_eq!(d.docs[1]["metadata"]["source_id"], "doc2");
    assert_eq!(d.docs[1]["text"], "Flames are hot.");
}

fn stderr_free(summary: &serde_json::Value) -> bool {
    summary["problems"].as_array().unwrap().iter().all(|p| p["locator"] == "line 4")
}

#[test]
fn directories_with_include_and_exclude() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("docs");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/one.txt"), "One about hydrogen.\n").unwrap();
    std::fs::write(root.join("a/b/two.md"), "# Two\n\nAbout oxygen.\n").unwrap();
    std::fs::write(root.join("a/b/skip.md"), "# Skip\n\nNot wanted.\n").unwrap();
    std::fs::write(root.join("a/photo.png"), [0u8, 1, 2]).unwrap();
    std::fs::write(root.join(".hidden.txt"), "hidden\n").unwrap();
    let out = tmp.path().join("store");
    let summary = ingest(&[&root], &out, &["--exclude", "skip.md"]);
    assert_eq!(summary["documents"], 2, "{summary}");
    assert_eq!(summary["skipped"]["unsupported_format"], 1, "{summary}");
    let d = inspect(&out);
    let sources: Vec<&str> = d.docs.iter().map(|x| x["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["docs/a/b/two.md", "docs/a/one.txt"]);
    let out2 = tmp.path().join("store2");
    let summary = ingest(&[&root], &out2, &["--include", "*.md"]);
    assert_eq!(summary["documents"], 2, "{summary}");
}

#[test]
fn prune_removes_sources_that_are_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("docs");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("keep.txt"), "Keep this text about salt.\n").unwrap();
    std::fs::write(root.join("gone.txt"), "This text about sugar goes away.\n").unwrap();
    let out = tmp.path().join("store");
    ingest(&[&root], &out, &[]);
    std::fs::remove_file(root.join("gone.txt")).unwrap();
    std::fs::write(root.join("keep.txt"), "Keep this changed text about salt.\n").unwrap();
    let s = ingest(&[&root], &out, &["--prune"]);
    assert_eq!(s["sources_pruned"], 1, "{s}");
    assert_eq!(s["documents"], 1, "{s}");
    let d = inspect(&out);
    assert_eq!(d.docs.len(), 1);
    assert_eq!(d.docs[0]["text"], "Keep this changed text about salt.\n");
}
