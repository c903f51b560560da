//! One run across machines: `quarry generate … --shard I/N` on each, `quarry merge` after.
//! Shards run as separate processes against the stub model; the merged directory holds
//! exactly what one process writes (byte for byte, timings aside), and a set that is not
//! one run's every shard, each finished, is refused with the reason.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::golden::{comparable, generate, indexed, run_files, same};
use crate::stub::Stub;
use crate::util::*;

fn merge(tmp: &Path, dirs: &[&str], out: &str) -> Output {
    quarry().current_dir(tmp).arg("merge").args(dirs).args(["--out", out]).output().unwrap()
}

/// Runs `args` (a `generate` command without --out) as one process and as 3 shards run at
/// once, merges the shards, and resumes the merged run when the shards stopped short.
/// Returns whether the merge alone was complete.
fn one_process_and_three_shards(tmp: &Path, name: &str, args: &[&str], stub: &Stub) -> bool {
    let with_out = |out: &'static str| [args, &["--out", out]].concat();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let one = leak(format!("runs/{name}-one"));
    let o = generate(tmp, &with_out(one), stub).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {}", stderr(&o));
    let shard_dirs: Vec<&'static str> = (0..3).map(|i| leak(format!("runs/{name}-shard-{i}"))).collect();
    // One after another: separate processes, as on separate machines (on one machine,
    // embedded Qdrant lets one process at a time open an index).
    for (i, dir) in shard_dirs.iter().enumerate() {
        let o = generate(tmp, &with_out(dir), stub).args(["--shard", &format!("{i}/3")]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: shard {i}/3 failed: {}", stderr(&o));
    }
    // Each shard wrote only its own slots.
    for (i, d) in shard_dirs.iter().enumerate() {
        for f in ["records.jsonl", "rejects.jsonl"] {
            for line in lines(&tmp.join(d).join(f)) {
                assert_eq!(line["slot"].as_u64().unwrap() % 3, i as u64, "{name}: {d}/{f} holds another shard's slot");
            }
        }
    }
    let merged = leak(format!("runs/{name}-merged"));
    let dirs: Vec<&str> = shard_dirs.iter().copied().rev().collect();
    let o = merge(tmp, &dirs, merged);
    let complete = o.status.code() == Some(0);
    if !complete {
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("without --shard"), "{name}: {}", stderr(&o));
        let o = generate(tmp, &with_out(merged), stub).output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: resuming the merged run: {}", stderr(&o));
    }
    let tmp_s = tmp.display().to_string();
    same(
        &format!("{name}: 3 shards merged vs one process"),
        &comparable(&run_files(&tmp.join(one)), &tmp_s),
        &comparable(&run_files(&tmp.join(merged)), &tmp_s),
    );
    assert!(tmp.join(merged).join("report.html").exists());
    complete
}

#[test]
fn a_run_split_into_three_shards_and_merged_is_the_run_one_process_makes() {
    let tmp_dir = indexed();
    let tmp = tmp_dir.path();
    let stub = Stub::start();
    // Every record accepted: the shards' shares add up to the run at once.
    let qa = ["qa", "--index", "index", "--n", "8", "--seed", "7"];
    assert!(one_process_and_three_shards(tmp, "qa", &qa, &stub), "8 records in 3 shards needed a second pass");
    // Repeated questions: duplicates are judged across shards in slot order, and the
    // merged run may need the one-process resume to reach n.
    let repeats = ["qa", "--index", "index", "--n", "12", "--budget", "2", "--seed", "3"];
    one_process_and_three_shards(tmp, "repeats", &repeats, &stub);
    let dups = lines(&tmp.join("runs/repeats-merged/rejects.jsonl"))
        .into_iter()
        .filter(|r| r["reason"] == "duplicate")
        .count();
    assert!(dups > 0, "the repeats run has no duplicates; the test does not exercise dedup across shards");
    let conversation = ["conversation", "--index", "index", "--n", "2", "--exchanges", "2"];
    one_process_and_three_shards(tmp, "conversation", &conversation, &stub);
    let followup = ["followup", "--from", "runs/qa-one", "--index", "index", "--n", "3", "--turns", "2"];
    one_process_and_three_shards(tmp, "followup", &followup, &stub);

    // Refused, with the reason.
    let refused = |dirs: &[&str], why: &str| {
        let o = merge(tmp, dirs, "runs/refused");
        assert_eq!(o.status.code(), Some(2), "{dirs:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{dirs:?}: expected {why:?} in: {}", stderr(&o));
        assert!(!tmp.join("runs/refused/run.json").exists(), "a refused merge wrote a run");
    };
    refused(&["runs/qa-shard-0", "runs/qa-shard-2"], "shard 1/3 is missing");
    refused(&["runs/qa-shard-0", "runs/qa-shard-1", "runs/qa-shard-1"], "given more than once");
    refused(&["runs/qa-shard-0", "runs/repeats-shard-1", "runs/qa-shard-2"], "configs differ in");
    refused(&["runs/qa-one"], "is not a shard");
    refused(&["runs/qa-shard-0", "runs/qa-shard-1", "runs/qa-shard-2", "runs/qa-shard-0"], "more than once");
    let o = merge(tmp, &["runs/qa-shard-0", "runs/qa-shard-1", "runs/qa-shard-2"], "runs/qa-merged");
    assert_eq!(o.status.code(), Some(2), "merging into a run directory must be refused");
    assert!(stderr(&o).contains("already holds a run"), "{}", stderr(&o));

    // A shard killed before it finished: the merge names it; its command resumes it.
    let slow = Stub::start_slow(std::time::Duration::from_millis(300));
    let cut = |i: usize| format!("runs/cut-shard-{i}");
    let shard = |i: usize, as_shard: usize| {
        let (out, spec) = (cut(i), format!("{as_shard}/3"));
        let mut cmd = generate(tmp, &qa, &slow);
        cmd.args(["--out", &out, "--shard", &spec, "--concurrency", "1"]);
        cmd
    };
    ok(&shard(0, 0).output().unwrap());
    ok(&shard(2, 2).output().unwrap());
    kill_at_points(&tmp.join(cut(1)), &[1], || shard(1, 1));
    let all = [cut(0), cut(1), cut(2)];
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let o = merge(tmp, &all, "runs/refused");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("shard 1/3") && stderr(&o).contains("not finished"), "{}", stderr(&o));
    // Resumed as another shard: refused; as itself: finished, and the merge is the run.
    let o = shard(1, 2).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("it holds shard 1/3, not shard 2/3"), "{}", stderr(&o));
    ok(&shard(1, 1).output().unwrap());
    ok(&merge(tmp, &all, "runs/cut-merged"));
    let tmp_s = tmp.display().to_string();
    same(
        "a shard killed and resumed, merged",
        &comparable(&run_files(&tmp.join("runs/qa-one")), &tmp_s),
        &comparable(&run_files(&tmp.join("runs/cut-merged")), &tmp_s),
    );
}

/// `quarry index … --shard I/N` on each machine, `quarry merge` after: BM25 built once over
/// the store and the vectors copied, not embedded again. The merged index ranks every query
/// of a BEIR set (XQuAD English: 240 paragraphs, 1190 questions) exactly as the index one
/// machine builds, in BM25, dense and hybrid search, and has the same manifest. With
/// QUARRY_TEST_QDRANT_URL (`../shared/tools/qdrant-server.sh`), the same into a Qdrant
/// server collection.
#[test]
fn an_index_built_in_three_shards_and_merged_ranks_as_one_build() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let beir = t.join("beir");
    let o = std::process::Command::new("python3")
        .arg(repo("scripts/make-beir.py"))
        .arg("squad")
        .arg(shared("xquad/xquad.en.json"))
        .arg(&beir)
        .output()
        .unwrap();
    assert!(o.status.success(), "make-beir: {}", String::from_utf8_lossy(&o.stderr));
    let corpus = beir.join("corpus.jsonl");
    let index = |out: &str, extra: &[&str]| {
        let o =
            quarry().current_dir(t).arg("index").arg(&corpus).args(["--out", out, "-q"]).args(extra).output().unwrap();
        ok(&o);
    };
    index("one", &[]);
    for i in 0..3 {
        index(&format!("shard-{i}"), &["--shard", &format!("{i}/3")]);
    }
    let docs = |dir: &str| -> u64 { manifest(&t.join(dir))["counts"]["documents"].as_u64().unwrap() };
    let shard_docs: Vec<u64> = (0..3).map(|i| docs(&format!("shard-{i}"))).collect();
    assert_eq!(shard_docs.iter().sum::<u64>(), docs("one"), "the shards do not split the documents: {shard_docs:?}");
    assert!(shard_docs.iter().all(|&d| d > 40), "uneven shards: {shard_docs:?}");
    let merge = |out: &str, dirs: &[&str], extra: &[&str]| {
        quarry().current_dir(t).arg("merge").args(dirs).args(["--out", out, "--json"]).args(extra).output().unwrap()
    };
    let o = merge("merged", &["shard-2", "shard-0", "shard-1"], &[]);
    ok(&o);
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["data"]["update"]["chunks_embedded"], 0, "the merge embedded again: {v}");
    same_ranking(t, &beir, "one", "merged");
    let strip = |mut m: Value| {
        m.as_object_mut().unwrap().remove("builds");
        m
    };
    assert_eq!(strip(manifest(&t.join("one"))), strip(manifest(&t.join("merged"))), "the manifests differ");

    // Refused, with the reason.
    let refused = |dirs: &[&str], why: &str| {
        let o = merge("refused", dirs, &[]);
        assert_eq!(o.status.code(), Some(2), "{dirs:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{dirs:?}: expected {why:?} in: {}", stderr(&o));
    };
    refused(&["shard-0", "shard-2"], "shard 1/3 is missing");
    refused(&["shard-0", "shard-1", "shard-1", "shard-2"], "given more than once");
    refused(&["one"], "is not a shard");
    let other = t.join("other.jsonl");
    let docs: String = (0..6)
        .map(|i| format!("{{\"_id\": \"x{i}\", \"title\": \"Other {i}\", \"text\": \"Another corpus, part {i}.\"}}\n"))
        .collect();
    std::fs::write(&other, docs).unwrap();
    ok(&quarry()
        .current_dir(t)
        .arg("index")
        .arg(&other)
        .args(["--out", "other-1", "--shard", "1/3", "-q"])
        .output()
        .unwrap());
    refused(&["shard-0", "other-1", "shard-2"], "not shards of one build");
    let o = quarry()
        .current_dir(t)
        .arg("index")
        .arg(&corpus)
        .args(["--out", "shard-1", "--shard", "2/3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds shard 1/3, not shard 2/3"), "{}", stderr(&o));

    match std::env::var("QUARRY_TEST_QDRANT_URL") {
        Ok(url) if !url.is_empty() => {
            let collection = format!("quarry_merge_{}", std::process::id());
            let vectors = format!("{}/{collection}", url.trim_end_matches('/'));
            ok(&merge("merged-qdrant", &["shard-0", "shard-1", "shard-2"], &["--vectors", &vectors]));
            same_ranking(t, &beir, "one", "merged-qdrant");
            println!("merged into the Qdrant server at {url}, collection {collection}: the same rankings");
        }
        _ => {
            let skip = "skipped: no server: merging shard indexes into a Qdrant server (set QUARRY_TEST_QDRANT_URL=qdrant://host:6334)";
            println!("{skip}");
            eprintln!("{skip}");
        }
    }
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Every query's ranking (BM25, dense, hybrid) from index `b` is the one from index `a`.
fn same_ranking(t: &Path, beir: &Path, a: &str, b: &str) {
    let run = |index: &str| {
        let trec = t.join(format!("{index}.trec"));
        let o = quarry()
            .current_dir(t)
            .args(["eval", "retrieval"])
            .arg(beir)
            .args(["--index", index, "--mode", "all", "--depth", "20", "-q", "--run-out"])
            .arg(&trec)
            .output()
            .unwrap();
        ok(&o);
        trec
    };
    let (ta, tb) = (run(a), run(b));
    for mode in ["bm25", "dense", "hybrid"] {
        // `--mode all` writes one file per mode: one.trec → one.bm25.trec.
        let read = |p: &Path| std::fs::read_to_string(p.with_extension(format!("{mode}.trec"))).unwrap();
        let (ra, rb) = (read(&ta), read(&tb));
        assert!(ra.lines().count() > 1000, "{mode}: too short a run file");
        let ids =
            |r: &str| r.lines().map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" ")).collect::<Vec<_>>();
        let (ia, ib) = (ids(&ra), ids(&rb));
        if let Some(i) = ia.iter().zip(&ib).position(|(x, y)| x != y) {
            panic!("{mode}: {b} ranks differently from {a} at line {}: {} vs {}", i + 1, ia[i], ib[i]);
        }
        assert_eq!(ia.len(), ib.len(), "{mode}: run lengths differ");
    }
}

/// The scheduler entry points in `deploy/`, run here with the variables the schedulers set:
/// a Slurm job array (`deploy/slurm/quarry.sbatch`, SLURM_ARRAY_TASK_ID and
/// SLURM_ARRAY_TASK_COUNT) indexes the corpus in 3 shards, merges them, generates in 3
/// shards and merges the run; a Kubernetes Indexed Job's pods (`deploy/quarry-shard.sh`,
/// JOB_COMPLETION_INDEX) generate over an index and merge. Each merged run is what one
/// process writes over the same index.
#[test]
fn the_slurm_and_kubernetes_entry_points_run_shards_and_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let stub = Stub::start();
    let step = |work: &Path, stage: &str, vars: &[(&str, String)], script: &str| {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(repo(script)).current_dir(t);
        for (k, _) in std::env::vars() {
            if k.starts_with("QUARRY_") && k != "QUARRY_CACHE" || k.starts_with("SLURM_") || k == "JOB_COMPLETION_INDEX"
            {
                cmd.env_remove(k);
            }
        }
        cmd.env("QUARRY_BIN", env!("CARGO_BIN_EXE_quarry"))
            .env("QUARRY_STAGE", stage)
            .env("QUARRY_WORK", work)
            .env("QUARRY_SCRATCH", work.with_extension("scratch"))
            .env("QUARRY_CORPUS", repo("tests/fixtures/golden/corpus"))
            .env("QUARRY_N", "8")
            .env("QUARRY_BASE_URL", &stub.url)
            .env("QUARRY_LLM_MODEL", "stub")
            .env("QUARRY_ARGS", "--seed 7 --no-cache -q");
        cmd.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{script} {stage} {vars:?}: {}{}", stderr(&o), stdout(&o));
    };
    // Slurm: every step through the batch script, as sbatch would run it.
    let slurm = t.join("slurm");
    let sbatch = "deploy/slurm/quarry.sbatch";
    let submit_dir = ("SLURM_SUBMIT_DIR", repo(".").display().to_string());
    for stage in ["index", "generate"] {
        for i in 0..3 {
            let array =
                [("SLURM_ARRAY_TASK_ID", i.to_string()), ("SLURM_ARRAY_TASK_COUNT", "3".into()), submit_dir.clone()];
            step(&slurm, stage, &array, sbatch);
        }
        let merge_stage = if stage == "index" { "merge-index" } else { "merge-run" };
        step(&slurm, merge_stage, &[("QUARRY_SHARDS", "3".into()), submit_dir.clone()], sbatch);
    }
    // Kubernetes: the pods' command, over an index built on one machine.
    let k8s = t.join("k8s");
    ok(&quarry()
        .arg("index")
        .arg(repo("tests/fixtures/golden/corpus"))
        .arg("--out")
        .arg(k8s.join("index"))
        .arg("-q")
        .output()
        .unwrap());
    for i in 0..3 {
        let pod = [("JOB_COMPLETION_INDEX", i.to_string()), ("QUARRY_SHARDS", "3".into())];
        step(&k8s, "generate", &pod, "deploy/quarry-shard.sh");
    }
    let strip = |mut m: Value| {
        m.as_object_mut().unwrap().remove("builds");
        m
    };
    assert_eq!(
        strip(manifest(&slurm.join("index"))),
        strip(manifest(&k8s.join("index"))),
        "the index merged from the Slurm shards is not the one-machine index"
    );
    step(&k8s, "merge-run", &[("QUARRY_SHARDS", "3".into())], "deploy/quarry-shard.sh");

    let tmp_s = t.display().to_string();
    for work in [&slurm, &k8s] {
        // One process over the same index (the copy the shards read, at the same path).
        let index = work.with_extension("scratch").join("index");
        let one = work.join("one");
        let o = quarry()
            .args(["generate", "qa", "--index"])
            .arg(&index)
            .args([
                "--n",
                "8",
                "--seed",
                "7",
                "--no-cache",
                "-q",
                "--base-url",
                &stub.url,
                "--llm-model",
                "stub",
                "--out",
            ])
            .arg(&one)
            .output()
            .unwrap();
        ok(&o);
        let merged = work.join("runs/qa/merged");
        same(
            &format!("{}: the scheduler's shards merged vs one process", work.display()),
            &comparable(&run_files(&one), &tmp_s),
            &comparable(&run_files(&merged), &tmp_s),
        );
        assert_eq!(lines(&merged.join("records.jsonl")).len(), 8);
    }
    let jobs = std::fs::read_to_string(repo("deploy/kubernetes/quarry-jobs.yaml")).unwrap();
    assert!(jobs.contains("completionMode: Indexed") && jobs.contains("/deploy/quarry-shard.sh"));
}
