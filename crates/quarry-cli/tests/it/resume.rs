//! kill -9 during ingest: the store is always readable, and the next run
//! completes it to exactly what an uninterrupted run writes.

use std::time::Duration;

use crate::util::*;

/// A corpus big enough that ingest takes a while: the shared dump and books,
/// with commits every 256 KiB so kills land between and inside commits.
fn inputs() -> Vec<std::path::PathBuf> {
    vec![shared("wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"), shared("books")]
}

#[test]
fn kill_9_at_any_moment_loses_nothing_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let inputs = inputs();
    let paths: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    ingest(&paths, &reference, &["--commit-bytes", "262144"]);
    let expected = inspect(&reference).raw;

    let out = tmp.path().join("killed");
    let mut resumed_any = false;
    for (round, delay_ms) in [0u64, 150, 400, 700, 1000, 1500].into_iter().enumerate() {
        let mut child = quarry()
            .arg("ingest")
            .args(&paths)
            .arg("--out")
            .arg(&out)
            .args(["--commit-bytes", "262144", "--quiet"])
            .spawn()
            .unwrap();
        if round == 0 {
            // Kill as soon as a commit has recorded a half-read source, so at
            // least one kill lands mid-source whatever the machine's speed.
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none() {
                let half_done = std::fs::read(out.join("manifest.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .is_some_and(|m| m["sources"].as_object().unwrap().values().any(|s| s["complete"] == false));
                if half_done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        } else {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        // Whatever happened, what is there reads back cleanly.
        if out.join("manifest.json").exists() {
            let partial = inspect(&out);
            check_spans(&partial);
            assert!(
                expected.starts_with(&partial.raw) || status.success(),
                "round {round}: partial store is not a prefix of the full one"
            );
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
            resumed_any |= m["sources"].as_object().unwrap().values().any(|s| s["complete"] == false);
        }
    }
    let last = ingest(&paths, &out, &["--commit-bytes", "262144"]);
    assert_eq!(inspect(&out).raw, expected, "resumed store differs from an uninterrupted run: {last}");
    assert!(resumed_any, "no kill landed mid-source; the test did not exercise resume");
    // No temporary files are left behind.
    for e in std::fs::read_dir(out.join("segments")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".jsonl"), "leftover {name}");
    }
}
