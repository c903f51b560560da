//! Bad input: each case gets one clear message naming the file (and page or
//! line), is skipped and counted, and leaves earlier output intact.

use std::io::Write;
use std::path::Path;

use crate::util::*;

/// A store holding the Faraday sample, and its inspect output.
fn base_store(dir: &Path) -> (std::path::PathBuf, String) {
    let out = dir.join("store");
    ingest(&[&repo("corpora/faraday-chemical-history-of-a-candle.txt")], &out, &[]);
    let before = inspect(&out).raw;
    (out, before)
}

/// Ingests `bad` (plus a good file) into a store that already holds the
/// Faraday sample; returns the summary and stderr, and checks that the old
/// content is still there and the good file was added.
fn ingest_bad(bad: &Path, reason: &str, needle: &str) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let (out, before) = base_store(tmp.path());
    let good = tmp.path().join("good.md");
    std::fs::write(&good, "# Good\n\nA perfectly fine document about copper sulphate.\n").unwrap();
    let o = quarry().arg("ingest").arg(bad).arg(&good).arg("--out").arg(&out).arg("--json").output().unwrap();
    ok(&o);
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let summary = summary["data"].clone();
    assert_eq!(summary["skipped"][reason], 1, "{summary}");
    let problem = &summary["problems"][0];
    assert_eq!(problem["reason"], reason);
    let name = bad.file_name().unwrap().to_str().unwrap();
    assert!(problem["path"].as_str().unwrap().contains(name), "{problem}");
    let err = stderr(&o);
    assert!(err.contains(name) && err.contains(needle), "stderr does not name {name} / {needle:?}:\n{err}");
    let after = inspect(&out);
    assert!(after.raw.starts_with(&before), "earlier output changed");
    assert!(after.docs.iter().any(|d| d["title"] == "Good"));
    check_spans(&after);
    summary
}

#[test]
fn binary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("image.txt");
    std::fs::write(&p, [0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0, 1, 2, 3]).unwrap();
    ingest_bad(&p, "binary", "binary");
}

#[test]
fn invalid_utf8_beyond_the_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("garbage.txt");
    let bytes: Vec<u8> = (0..4000u32).map(|i| if i % 3 == 0 { 0x81 } else { 0xC3 }).collect();
    std::fs::write(&p, bytes).unwrap();
    ingest_bad(&p, "encoding", "invalid UTF-8");
}

#[test]
fn truncated_bz2_keeps_the_pages_before_the_cut() {
    let tmp = tempfile::tempdir().unwrap();
    // Several bzip2 blocks, so the blocks before the cut still decode.
    let full = std::fs::read(shared("wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"))
        .unwrap();
    let p = tmp.path().join("cut.xml.bz2");
    std::fs::write(&p, &full[..full.len() * 2 / 3]).unwrap();
    let summary = ingest_bad(&p, "truncated", "truncated");
    assert!(summary["documents"].as_u64().unwrap() >= 20, "{summary}");
    assert!(summary["problems"][0]["locator"].as_str().unwrap().starts_with("after page"), "{summary}");
}

#[test]
fn malformed_xml_names_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("broken.xml");
    std::fs::write(
        &p,
        "<mediawiki><page><title>First</title><ns>0</ns><id>1</id><revision><text>Fine text here.</text></revision></page>\
         <page><title>Second</title><ns>0</ns><id>2</id><revision><text>Broken</txet></revision></page></mediawiki>",
    )
    .unwrap();
    let summary = ingest_bad(&p, "malformed", "malformed XML");
    assert!(summary["problems"][0]["locator"].as_str().unwrap().contains("page 1 \"First\""), "{summary}");
}

#[test]
fn empty_document() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("empty.txt");
    std::fs::write(&p, "\n\n   \n").unwrap();
    ingest_bad(&p, "empty", "empty");
}

#[test]
fn fifty_megabytes_on_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("oneline.txt");
    let mut f = std::fs::File::create(&p).unwrap();
    let piece = "word ".repeat(1000);
    for _ in 0..(50_000_000 / piece.len()) {
        f.write_all(piece.as_bytes()).unwrap();
    }
    drop(f);
    ingest_bad(&p, "line_too_long", "line 1 is");
}

#[test]
fn missing_path() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_bad(&tmp.path().join("no-such-file.txt"), "not_found", "no such file");
}

#[test]
fn symlink_loop_in_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("looped");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/note.txt"), "A short note about candles and wax.\n").unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/back")).unwrap();
    let summary = ingest_bad(&dir, "unreadable", "symlink loop");
    // The real file in the directory is still read.
    assert_eq!(summary["documents"], 2, "{summary}");
}

#[test]
fn malformed_jsonl_line_names_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("docs.jsonl");
    std::fs::write(
        &p,
        "{\"id\": \"a\", \"text\": \"Alpha text.\"}\n{not json\n{\"id\": \"c\", \"text\": \"Gamma text.\"}\n",
    )
    .unwrap();
    let summary = ingest_bad(&p, "malformed", "line 2");
    assert_eq!(summary["documents"], 3, "{summary}");
}

#[test]
fn nothing_ingested_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run([
        "ingest".as_ref(),
        tmp.path().join("nope").as_os_str(),
        "--out".as_ref(),
        tmp.path().join("s").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing could be ingested"));
}

#[test]
fn output_directory_that_is_not_a_store_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), "mine").unwrap();
    let o = run(["ingest".as_ref(), repo("corpora").as_os_str(), "--out".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a quarry store"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(tmp.path().join("precious.txt")).unwrap(), "mine");
}

#[test]
fn other_chunker_settings_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, before) = base_store(tmp.path());
    let o = run([
        "ingest".as_ref(),
        repo("corpora").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--max-tokens".as_ref(),
        "300".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("other chunker settings"), "{}", stderr(&o));
    assert_eq!(inspect(&out).raw, before);
}
