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
        assert_eq!(doc["metadata"]["language"], "en", "{}", doc["title"]);
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

/// The shared Marathi dump, read as it is (.xz): its namespaces come from its `<siteinfo>`, so
/// no link, category, file or template is left in any chunk (707 of 11,370 chunks held one
/// when only the English namespace names were known).
#[test]
fn a_marathi_xz_dump_is_clean_in_its_own_namespaces() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("store");
    let summary = ingest(&[&shared("wikipedia/mrwiki-truncated-100k.xml.xz")], &out, &[]);
    assert!(summary["documents"].as_u64().unwrap() >= 700, "{summary}");
    let d = inspect(&out);
    check_spans(&d);
    assert!(d.chunks.len() >= 10_000, "{} chunks", d.chunks.len());
    // The dump's language, from its <siteinfo>, is every document's.
    assert!(d.docs.iter().all(|doc| doc["metadata"]["language"] == "mr"), "{}", d.docs[0]["metadata"]);
    for c in &d.chunks {
        let t = c["text"].as_str().unwrap();
        for m in MARKUP.iter().chain(&["वर्ग:", "चित्र:", "साचा:", "File:", "thumb|"]) {
            assert!(!t.contains(m), "{m:?} left in chunk {}: {t}", c["id"]);
        }
    }
}

/// A dump compressed with bzip2, gzip, xz or zstd is read as a stream, with the same result as
/// the plain XML; an archive quarry does not read is named as such, not called binary.
#[test]
fn compressed_dumps_read_alike_and_other_archives_are_named() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let xml = std::fs::read(repo("tests/fixtures/wiki/mrwiki-sample.xml")).unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
    write("plain.xml", xml.clone());
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&xml).unwrap();
    write("a.xml.bz2", bz.finish().unwrap());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&xml).unwrap();
    write("b.xml.gz", gz.finish().unwrap());
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&xml).unwrap();
    write("c.xml.xz", xz.finish().unwrap());
    write("d.xml.zst", zstd::encode_all(&xml[..], 3).unwrap());
    write("e.7z", b"7z\xbc\xaf\x27\x1c not really".to_vec());
    let mut counts = Vec::new();
    for name in ["plain.xml", "a.xml.bz2", "b.xml.gz", "c.xml.xz", "d.xml.zst"] {
        let out = tmp.path().join(format!("store-{name}"));
        let summary = ingest(&[&dir.join(name)], &out, &[]);
        let d = inspect(&out);
        let texts: Vec<String> = d.docs.iter().map(|doc| doc["text"].as_str().unwrap().to_owned()).collect();
        assert_eq!(texts.len(), 7, "{name}: {summary}");
        counts.push(texts);
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "the formats read differently");
    // --language sets every document's language, whatever the source says.
    let out = tmp.path().join("store-given");
    ingest(&[&dir.join("plain.xml")], &out, &["--language", "hi"]);
    assert!(inspect(&out).docs.iter().all(|doc| doc["metadata"]["language"] == "hi"));
    let o = quarry().arg("ingest").arg(dir.join("e.7z")).arg("--out").arg(tmp.path().join("s7")).output().unwrap();
    let said = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(said.contains("unsupported_format") && said.contains(".7z file"), "{said}");
    assert!(!said.contains("binary"), "{said}");
}
