//! One run across machines: `quarry generate … --shard I/N` on each, `quarry merge` after.
//! Shards run as separate processes against the stub model; the merged directory holds
//! exactly what one process writes (byte for byte, timings aside), and a set that is not
//! one run's every shard, each finished, is refused with the reason.

use std::path::Path;
use std::process::Output;

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
    assert!(tmp.join(&merged).join("report.html").exists());
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
