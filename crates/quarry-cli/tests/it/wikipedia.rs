//! Wikipedia dumps: every shared dump ingests, redirects are skipped and
//! counted, no markup survives, section headings make the heading paths.

use crate::util::*;

const MARKUP: [&str; 7] = ["{{", "}}", "[[", "{|", "|}", "<ref", "]]"];

#[test]
fn shared_dumps_become_clean_prose() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    let dumps = [
        ("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2", 90, 100),
        ("enwiki-table-markup.xml.bz2", 5, 0),
        ("tiny_dump.xml.bz2", 6, 64),
    ];
    for (file, min_docs, redirects) in dumps {
        let summary = ingest(&[&shared(&format!("wikipedia/{file}"))], &out, &[]);
        assert!(summary["documents"].as_u64().unwrap() >= min_docs, "{file}: {summary}");
        assert_eq!(summary["skipped"]["redirect"].as_u64().unwrap_or(0), redirects, "{file}: {summary}");
        assert!(summary["problems"].as_array().unwrap().is_empty(), "{file}: {summary}");
    }
    let d = inspect(&out);
    check_spans(&d);
    for c in &d.chunks {
        let t = c["text"].as_str().unwrap();
        for m in MARKUP {
            assert!(!t.contains(m), "{m:?} left in chunk {}: {t}", c["id"]);
        }
    }
    for doc in &d.docs {
        assert_eq!(doc["format"], "wikipedia");
        assert!(!doc["title"].as_str().unwrap().is_empty());
        assert!(doc["metadata"]["page_id"].as_str().unwrap().parse::<u64>().is_ok());
    }
    let albedo = d
        .docs
        .iter()
        .find(|doc| doc["title"] == "Albedo" && doc["source"].as_str().unwrap().contains("shortened"))
        .unwrap();
    assert!(albedo["text"].as_str().unwrap().starts_with("Albedo"), "{}", &albedo["text"].as_str().unwrap()[..200]);
    let paths = heading_paths(&d, albedo);
    assert!(paths.iter().any(|p| p.starts_with("Albedo › ")), "{paths:?}");
    let einstein = d.docs.iter().find(|doc| doc["title"] == "Albert Einstein").unwrap();
    let paths = heading_paths(&d, einstein);
    // Article › Section › Subsection.
    assert!(paths.iter().any(|p| p.matches(" › ").count() >= 2), "{paths:?}");
    // Tables are dropped, not rendered as cell soup.
    let estonia = d.docs.iter().find(|doc| doc["title"] == "Economy of Estonia").unwrap();
    assert!(!estonia["text"].as_str().unwrap().contains("||"));
}

#[test]
fn sample_corpus_dump_skips_its_redirects() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    let summary = ingest(&[&repo("corpora/wikipedia-stem.xml.bz2")], &out, &[]);
    assert_eq!(summary["documents"], 10, "{summary}");
    assert_eq!(summary["skipped"]["redirect"], 2, "{summary}");
}

#[test]
fn plain_xml_dumps_are_read_too() {
    let tmp = tempfile::tempdir().unwrap();
    let xml = tmp.path().join("small.xml");
    std::fs::write(
        &xml,
        "<mediawiki><page><title>Ampere</title><ns>0</ns><id>772</id><revision><text>The '''ampere''' is the [[SI]] unit of [[electric current]].\n\n== History ==\nNamed after [[André-Marie Ampère]].{{cite|x}}</text></revision></page>\
         <page><title>Talk:Ampere</title><ns>1</ns><id>773</id><revision><text>chat</text></revision></page></mediawiki>",
    )
    .unwrap();
    let out = tmp.path().join("store");
    let summary = ingest(&[&xml], &out, &[]);
    assert_eq!(summary["documents"], 1);
    assert_eq!(summary["skipped"]["not_article"], 1);
    let d = inspect(&out);
    assert_eq!(
        d.docs[0]["text"],
        "The ampere is the SI unit of electric current.\n\nHistory\n\nNamed after André-Marie Ampère."
    );
    assert_eq!(heading_paths(&d, &d.docs[0]), ["Ampere", "Ampere › History"]);
}
