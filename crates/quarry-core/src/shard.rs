//! One part of a run split across machines: `--shard I/N`, I from 0 to N−1 (as a
//! Kubernetes Indexed Job numbers its completions and a Slurm array its tasks).
//!
//! The rules are fixed, so shards never overlap and any shard can be re-run or resumed
//! alone: a generating run's shard I works the slots whose number is I modulo N; an index's
//! shard I embeds the documents whose id (16 hex digits of a hash) is I modulo N.

use serde::{Deserialize, Serialize};

use crate::DocId;

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// Where `auto/N` reads the shard index from, first set first: a Kubernetes Indexed Job's
/// completion index, then a Slurm job array's task id.
pub const SHARD_VARIABLES: &[&str] = &["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

impl Shard {
    /// Parses `I/N`; `auto/N` takes I from `lookup` of [`SHARD_VARIABLES`] (the caller
    /// passes the environment: this crate reads none).
    pub fn parse(s: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected I/N (I from 0 to N-1, e.g. 0/4) or auto/N");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(bad());
        }
        let (index, from) = if i.trim() == "auto" {
            let (var, value) = SHARD_VARIABLES
                .iter()
                .find_map(|v| lookup(v).filter(|x| !x.trim().is_empty()).map(|x| (*v, x)))
                .ok_or_else(|| {
                    format!(
                        "--shard {s}: neither {} is set (run it as a Kubernetes Indexed Job or a Slurm job array, or give I/N)",
                        SHARD_VARIABLES.join(" nor ")
                    )
                })?;
            let index =
                value.trim().parse().map_err(|_| format!("--shard {s}: {var}={value:?} is not a shard number"))?;
            (index, format!(" ({var}={value})"))
        } else {
            (i.trim().parse().map_err(|_| bad())?, String::new())
        };
        if index >= count {
            return Err(format!(
                "--shard {s}{from}: the shard index must be below {count} (shards are numbered from 0)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard works slot `slot` of a generating run.
    pub fn owns_slot(&self, slot: u64) -> bool {
        slot % self.count == self.index
    }

    /// Whether this shard embeds document `doc` of an index.
    pub fn owns_doc(&self, doc: &DocId) -> bool {
        let h = u64::from_str_radix(doc.as_str(), 16).unwrap_or_else(|_| {
            u64::from_le_bytes(blake3::hash(doc.as_str().as_bytes()).as_bytes()[..8].try_into().expect("8 bytes"))
        });
        h % self.count == self.index
    }

    /// Accepted records a shard of a run wanting `n` aims for: its share and a tenth more
    /// (plus one), so that the merged shards usually hold the first `n` records without a
    /// second pass. Shards do not see each other's duplicates, and their rejects do not fall
    /// evenly; when the merge still falls short, resuming the merged run finishes it.
    pub fn target(&self, n: usize) -> usize {
        if self.count == 1 {
            return n;
        }
        let share = (n as f64 * 1.1 / self.count as f64).ceil() as usize + 1;
        share.min(n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_fixed_and_scheduler_shards() {
        assert_eq!(Shard::parse("2/4", none).unwrap(), Shard { index: 2, count: 4 });
        assert!(Shard::parse("4/4", none).unwrap_err().contains("below 4"));
        assert!(Shard::parse("1/0", none).is_err());
        assert!(Shard::parse("x", none).is_err());
        assert!(Shard::parse("auto/3", none).unwrap_err().contains("JOB_COMPLETION_INDEX"));
        let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "1".to_owned());
        assert_eq!(Shard::parse("auto/3", k8s).unwrap(), Shard { index: 1, count: 3 });
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "2".to_owned());
        assert_eq!(Shard::parse("auto/3", slurm).unwrap(), Shard { index: 2, count: 3 });
        let wrong = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "5".to_owned());
        assert!(Shard::parse("auto/3", wrong).unwrap_err().contains("(SLURM_ARRAY_TASK_ID=5)"));
    }

    #[test]
    fn every_slot_and_document_has_exactly_one_shard() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for slot in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns_slot(slot)).count(), 1);
        }
        let mut per = [0; 3];
        for i in 0..300u64 {
            let doc: DocId = format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).parse().unwrap();
            let owners: Vec<usize> = (0..3).filter(|&s| shards[s].owns_doc(&doc)).collect();
            assert_eq!(owners.len(), 1);
            per[owners[0]] += 1;
        }
        assert!(per.iter().all(|&c| c > 60), "{per:?}");
        assert_eq!(Shard { index: 0, count: 3 }.target(12), 6);
        assert_eq!(Shard { index: 0, count: 1 }.target(12), 12);
    }
}
