//! Project Gutenberg books: boilerplate gone, real text kept, headings found,
//! spans exact, ids stable.

use crate::util::*;

#[test]
fn books_lose_boilerplate_and_keep_their_text() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    let books = shared("books");
    let summary = ingest(&[&books], &out, &["--exclude", "SOURCES.md"]);
    assert_eq!(summary["documents"], 5, "{summary}");
    let warnings = summary["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("5001.txt") && w.as_str().unwrap().contains("Windows-1252")),
        "no encoding warning for 5001.txt: {warnings:?}"
    );
    let d = inspect(&out);
    assert_eq!(d.docs.len(), 5);
    check_spans(&d);
    for doc in &d.docs {
        for c in d.chunks_of(doc) {
            let t = c["text"].as_str().unwrap();
            for bad in ["Project Gutenberg", "PROJECT GUTENBERG", "START OF", "END OF", "Produced by", "SMALL PRINT"] {
                assert!(!t.contains(bad), "{bad:?} left in {} chunk {}: {t}", doc["source"], c["id"]);
            }
        }
    }
    // The books' own first and last paragraphs are kept.
    let expect = [
        ("1228.txt", "ON THE ORIGIN OF SPECIES.", "Zebra, stripes on, 163.\n\n\n   THE END."),
        ("14474.txt", "THE CHEMICAL", "\"combusion that makes!\" in the original."),
        (
            "2931.txt",
            "EVIDENCE AS TO MAN'S PLACE IN NATURE",
            "Troglodytes Gorilla. 'Boston Journal of Natural History', 1847.]",
        ),
        ("33504.txt", "OPTICKS:", "under the Government of _Noah_ and his Sons before they corrupted\nthemselves."),
        ("5001.txt", "ALBERT EINSTEIN REFERENCE ARCHIVE", "G = gravitational field"),
    ];
    for (book, first, last) in expect {
        let text = d.doc_by_source(book)["text"].as_str().unwrap();
        assert!(text.trim_start().starts_with(first), "{book} starts with {:?}", &text[..80]);
        assert!(text.trim_end().ends_with(last), "{book} ends with {:?}", &text[text.len() - 120..]);
    }
    let darwin = d.doc_by_source("1228.txt");
    assert!(darwin["text"].as_str().unwrap().contains("There is grandeur in this view of life"));
    assert_eq!(darwin["title"], "On the Origin of Species");
    assert_eq!(darwin["metadata"]["author"], "Charles Darwin");
    // Latin-1 fallback: the ae ligature of "aether" survives.
    assert!(d.doc_by_source("5001.txt")["text"].as_str().unwrap().contains("\u{e6}ther"));
}

#[test]
fn books_have_heading_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    ingest(&[&shared("books/14474.txt"), &shared("books/1228.txt")], &out, &[]);
    let d = inspect(&out);
    let faraday = heading_paths(&d, d.doc_by_source("14474.txt"));
    for lecture in ["LECTURE I. A CANDLE: THE FLAME", "LECTURE II.", "LECTURE VI.", "LECTURE ON PLATINUM."] {
        assert!(
            faraday.iter().any(|p| p.starts_with("The Chemical History Of A Candle › ") && p.contains(lecture)),
            "no {lecture:?} in {faraday:?}"
        );
    }
    let darwin = heading_paths(&d, d.doc_by_source("1228.txt"));
    for chapter in ["INTRODUCTION.", "1. VARIATION UNDER DOMESTICATION.", "14. RECAPITULATION AND CONCLUSION."] {
        assert!(darwin.iter().any(|p| p.ends_with(chapter)), "no {chapter:?} in {darwin:?}");
    }
    // Most of Darwin's chunks sit under a chapter, not under the bare title.
    let under_chapter =
        d.chunks_of(d.doc_by_source("1228.txt")).filter(|c| c["heading_path"].as_array().unwrap().len() > 1).count();
    let all = d.chunks_of(d.doc_by_source("1228.txt")).count();
    assert!(under_chapter * 10 > all * 9, "{under_chapter} of {all} chunks under a chapter");
}

#[test]
fn ids_and_files_are_identical_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = [shared("books/5001.txt"), shared("wikipedia/tiny_dump.xml.bz2"), repo("corpora")];
    let paths: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    ingest(&paths, &a, &[]);
    ingest(&paths, &b, &["--threads", "1"]);
    for f in ["manifest.json", "segments/000001.jsonl"] {
        let fa = std::fs::read(a.join(f)).unwrap();
        let fb = std::fs::read(b.join(f)).unwrap();
        assert!(fa == fb, "{f} differs between two runs");
    }
    let da = inspect(&a);
    check_spans(&da);
    assert!(da.docs.len() > 10);
    assert_eq!(da.raw, inspect(&b).raw);
}

#[test]
fn rerun_on_unchanged_input_does_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    let corpus = repo("corpora");
    let first = ingest(&[&corpus], &out, &[]);
    assert!(first["documents"].as_u64().unwrap() > 5);
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    let second = ingest(&[&corpus], &out, &[]);
    assert_eq!(second["documents"], 0);
    assert_eq!(second["sources_unchanged"], first["sources_ingested"]);
    assert_eq!(second["store_documents"], first["store_documents"]);
    assert_eq!(before, std::fs::read(out.join("manifest.json")).unwrap());
}

#[test]
fn show_prints_a_chunk_in_context() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    ingest(&[&shared("books/14474.txt")], &out, &[]);
    let d = inspect(&out);
    let chunk =
        d.chunks.iter().find(|c| c["text"].as_str().unwrap().contains("I purpose, in return for the honour")).unwrap();
    let id = chunk["id"].as_str().unwrap();
    let o = run(["show", id, "--in", out.to_str().unwrap()]);
    ok(&o);
    let s = stdout(&o);
    assert!(s.contains("LECTURE I. A CANDLE"), "{s}");
    assert!(s.contains("I purpose, in return for the honour"), "{s}");
    assert!(s.contains(&format!("chunk    {id}")), "{s}");
    let o = run(["show", id, "--in", out.to_str().unwrap(), "--json"]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["data"]["text"], chunk["text"]);
    // A well-formed id that is not there: exit 1 and a message naming it.
    let missing = format!("{}-99999", &id[..16]);
    let o = run(["show", &missing, "--in", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&missing));
    let o = run(["show", "not-an-id", "--in", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a chunk id"), "{}", stderr(&o));
}

#[test]
fn help_teaches_with_examples() {
    for cmd in ["ingest", "show", "inspect"] {
        let o = run([cmd, "--help"]);
        ok(&o);
        let s = stdout(&o);
        assert!(s.contains("Example:") && s.contains(&format!("quarry {cmd}")), "{cmd} --help has no example:\n{s}");
    }
    let o = run(["--help"]);
    assert!(stdout(&o).contains("Exit status"));
    let o = run(["ingest"]);
    assert_eq!(o.status.code(), Some(2));
}
