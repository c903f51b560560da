//! The verifier's benchmark: support on SQuAD dev, supporting sentences on HotpotQA, and the
//! quote locator's speed. Prints one JSON object.
//!
//! `QUARRY_SQUAD` and `QUARRY_HOTPOT` override the data paths (defaults under
//! `../shared/data` of the workspace); a missing file is reported as skipped.
//! `QUARRY_AUDIT_SWEEP=1` adds a sweep over the support scorer's main parameters.
//! `QUARRY_AUDIT_DUMP=FILE` writes every SQuAD case with its score, verdict and reasons as JSON
//! lines, for studying what the scorer gets wrong.

use std::path::PathBuf;
use std::time::Instant;

use quarry_audit::eval::{Rng, hotpot_eval, squad_cases, squad_eval};
use quarry_audit::{DEFAULT_MIN_FUZZY, SupportConfig, locate_quote};
use serde_json::{Value, json};

const PER_KIND: usize = 2000;
const SEED: u64 = 20240611;

fn data_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
        root.join("shared/data").join(default)
    })
}

/// Quote-locator throughput on the SQuAD paragraphs: the gold answer's sentence quoted exactly,
/// with its case and spacing changed (normalised), and with a word dropped (fuzzy).
fn locate_speed(cases: &[quarry_audit::eval::SupportCase]) -> Value {
    let mut rng = Rng::new(SEED);
    let mut quotes: Vec<(&str, String, &'static str)> = Vec::new();
    for c in cases.iter().filter(|c| c.label()).take(1000) {
        let sents = quarry_audit::split_sentences(&c.evidence);
        let r = sents[rng.below(sents.len())].clone();
        let s = &c.evidence[r];
        quotes.push((&c.evidence, s.to_owned(), "exact"));
        quotes.push((&c.evidence, s.to_uppercase().replace(' ', "  "), "normalized"));
        let ws: Vec<&str> = s.split_whitespace().collect();
        if ws.len() >= 8 {
            let drop = rng.below(ws.len());
            let q: Vec<&str> = ws.iter().enumerate().filter(|&(i, _)| i != drop).map(|(_, w)| *w).collect();
            quotes.push((&c.evidence, q.join(" "), "fuzzy"));
        }
    }
    let mut out = serde_json::Map::new();
    for kind in ["exact", "normalized", "fuzzy"] {
        let qs: Vec<&(&str, String, &str)> = quotes.iter().filter(|q| q.2 == kind).collect();
        let t = Instant::now();
        let mut found = 0;
        for _ in 0..3 {
            found = qs.iter().filter(|(text, q, _)| locate_quote(text, q, DEFAULT_MIN_FUZZY).is_some()).count();
        }
        let secs = t.elapsed().as_secs_f64() / 3.0;
        out.insert(
            kind.to_owned(),
            json!({"quotes": qs.len(), "found": found, "calls_per_second": (qs.len() as f64 / secs).round()}),
        );
    }
    Value::Object(out)
}

/// Writes every case with its score and verdict as JSON lines (for studying the misses).
fn dump_cases(cases: &[quarry_audit::eval::SupportCase], cfg: &SupportConfig, path: &std::path::Path) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create the dump file"));
    for c in cases {
        let r = quarry_audit::support(&c.question, &c.answer, &[c.evidence.as_str()], None, cfg);
        let row = json!({"kind": c.kind, "question": c.question, "answer": c.answer, "evidence": c.evidence,
            "support": r.support, "verdict": r.verdict, "reasons": r.reasons});
        writeln!(out, "{row}").expect("write the dump file");
    }
}

fn main() {
    let cfg = SupportConfig::default();
    let mut report = serde_json::Map::new();
    report.insert("config".into(), json!(format!("{cfg:?}")));

    let squad = data_path("QUARRY_SQUAD", "squad/dev-v1.1.json");
    if squad.is_file() {
        let cases = squad_cases(&squad, PER_KIND, SEED).expect("read SQuAD");
        let r = squad_eval(&cases, &cfg);
        if let Some(path) = std::env::var_os("QUARRY_AUDIT_DUMP") {
            dump_cases(&cases, &cfg, std::path::Path::new(&path));
        }
        report.insert(
            "squad".into(),
            json!({"path": squad.display().to_string(), "per_kind": PER_KIND, "seed": SEED, "report": r}),
        );
        report.insert("locate".into(), locate_speed(&cases));
        if std::env::var_os("QUARRY_AUDIT_SWEEP").is_some() {
            let mut sweep = Vec::new();
            for near in [2.0, 3.0, 4.0] {
                for gap in [8.0, 16.0, 32.0] {
                    for pmw in [6, 8] {
                        let c = SupportConfig {
                            near_distance: near,
                            sentence_gap: gap,
                            phrase_max_words: pmw,
                            ..cfg.clone()
                        };
                        let m = squad_eval(&cases, &c).metrics;
                        sweep.push(json!({"near": near, "gap": gap, "phrase_max_words": pmw, "auroc": m.auroc,
                            "p_at_r90": m.precision_at_recall_90, "t_at_r90": m.threshold_at_recall_90,
                            "best_f1": m.best_f1, "best_f1_threshold": m.best_f1_threshold}));
                    }
                }
            }
            report.insert("sweep".into(), Value::Array(sweep));
        }
    } else {
        report.insert("squad".into(), json!({"skipped": format!("{} not found (set QUARRY_SQUAD)", squad.display())}));
    }

    let hotpot = data_path("QUARRY_HOTPOT", "hotpotqa/hotpot_dev_distractor_v1.first53.json");
    if hotpot.is_file() {
        let r = hotpot_eval(&hotpot, &cfg).expect("read HotpotQA");
        report.insert("hotpot".into(), json!({"path": hotpot.display().to_string(), "report": r}));
    } else {
        report
            .insert("hotpot".into(), json!({"skipped": format!("{} not found (set QUARRY_HOTPOT)", hotpot.display())}));
    }
    println!("{}", Value::Object(report));
}
