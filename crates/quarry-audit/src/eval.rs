//! Measuring the support scorer: SQuAD (is the gold answer, in its paragraph, told apart from
//! the same answer in another paragraph and from another question's answer?) and HotpotQA
//! (does the scorer name the gold supporting sentences?).
//!
//! The data sets are read from files the caller names (the bench binary uses
//! `../shared/data`); the product never reads them.

use std::collections::HashSet;
use std::path::Path;

use quarry_core::Verdict;
use serde::{Deserialize, Serialize};

use crate::support::{SupportConfig, support, supporting_sentences};

/// An error reading a data set.
#[derive(Debug)]
pub struct EvalError(pub String);

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EvalError {}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| EvalError(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| EvalError(format!("{}: {e}", path.display())))
}

/// A small deterministic generator (SplitMix64), so samples are the same on every machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[derive(Deserialize)]
struct SquadFile {
    data: Vec<SquadArticle>,
}

#[derive(Deserialize)]
struct SquadArticle {
    paragraphs: Vec<SquadParagraph>,
}

#[derive(Deserialize)]
struct SquadParagraph {
    context: String,
    qas: Vec<SquadQa>,
}

#[derive(Deserialize)]
struct SquadQa {
    question: String,
    answers: Vec<SquadAnswer>,
}

#[derive(Deserialize)]
struct SquadAnswer {
    text: String,
}

/// Which kind of case a [`SupportCase`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// The question, its gold answer and its paragraph.
    Gold,
    /// The question and gold answer with another paragraph of the same article.
    OtherParagraph,
    /// The question and its paragraph with the answer of another question on that paragraph.
    OtherAnswer,
}

/// One labelled support case.
#[derive(Clone, Debug)]
pub struct SupportCase {
    pub question: String,
    pub answer: String,
    pub evidence: String,
    pub kind: CaseKind,
}

impl SupportCase {
    /// Whether the evidence supports the answer.
    pub fn label(&self) -> bool {
        self.kind == CaseKind::Gold
    }
}

/// An answer for comparison: lower case, articles and punctuation dropped, spaces collapsed.
fn norm_answer(s: &str) -> String {
    let lower = s.to_lowercase();
    let cleaned: String = lower.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    cleaned.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).collect::<Vec<_>>().join(" ")
}

/// Reads SQuAD v1.1 and draws `per_kind` cases of each [`CaseKind`] with `seed`.
///
/// Another question's answer is only taken when it differs from every gold answer of the
/// question (neither contains the other after normalising), so no negative is a paraphrase of
/// the gold answer.
pub fn squad_cases(path: &Path, per_kind: usize, seed: u64) -> Result<Vec<SupportCase>, EvalError> {
    let file: SquadFile = read_json(path)?;
    // (article, paragraph, qa) of every question with an answer.
    let mut refs = Vec::new();
    for (a, art) in file.data.iter().enumerate() {
        for (p, par) in art.paragraphs.iter().enumerate() {
            for (q, qa) in par.qas.iter().enumerate() {
                if !qa.answers.is_empty() {
                    refs.push((a, p, q));
                }
            }
        }
    }
    if refs.is_empty() {
        return Err(EvalError(format!("{}: no questions", path.display())));
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(per_kind * 3);
    let qa = |&(a, p, q): &(usize, usize, usize)| &file.data[a].paragraphs[p].qas[q];
    let ctx = |a: usize, p: usize| file.data[a].paragraphs[p].context.clone();
    for kind in [CaseKind::Gold, CaseKind::OtherParagraph, CaseKind::OtherAnswer] {
        let mut made = 0;
        let mut seen = HashSet::new();
        let mut tries = 0;
        while made < per_kind && tries < per_kind * 50 {
            tries += 1;
            let r = refs[rng.below(refs.len())];
            if !seen.insert(r) {
                continue;
            }
            let (a, p, _) = r;
            let this = qa(&r);
            let gold = this.answers[0].text.clone();
            let case = match kind {
                CaseKind::Gold => {
                    SupportCase { question: this.question.clone(), answer: gold, evidence: ctx(a, p), kind }
                }
                CaseKind::OtherParagraph => {
                    let n = file.data[a].paragraphs.len();
                    if n < 2 {
                        continue;
                    }
                    let mut o = rng.below(n - 1);
                    if o >= p {
                        o += 1;
                    }
                    SupportCase { question: this.question.clone(), answer: gold, evidence: ctx(a, o), kind }
                }
                CaseKind::OtherAnswer => {
                    let qas = &file.data[a].paragraphs[p].qas;
                    let golds: Vec<String> = this.answers.iter().map(|x| norm_answer(&x.text)).collect();
                    let others: Vec<&str> = qas
                        .iter()
                        .filter_map(|o| o.answers.first().map(|x| x.text.as_str()))
                        .filter(|t| {
                            let n = norm_answer(t);
                            !n.is_empty() && golds.iter().all(|g| !g.contains(&n) && !n.contains(g.as_str()))
                        })
                        .collect();
                    if others.is_empty() {
                        continue;
                    }
                    let other = others[rng.below(others.len())].to_owned();
                    SupportCase { question: this.question.clone(), answer: other, evidence: ctx(a, p), kind }
                }
            };
            out.push(case);
            made += 1;
        }
    }
    Ok(out)
}

/// Precision, recall and ranking quality of a binary decision.
#[derive(Clone, Debug, Serialize)]
pub struct BinaryMetrics {
    pub positives: usize,
    pub negatives: usize,
    /// Of the cases judged Supported, the share that are.
    pub precision: f32,
    /// Of the supported cases, the share judged Supported.
    pub recall: f32,
    pub f1: f32,
    /// Area under the ROC curve of the support score.
    pub auroc: f32,
    /// The support threshold with the best F1, and that F1.
    pub best_f1_threshold: f32,
    pub best_f1: f32,
    /// The best precision at recall ≥ 0.90, and the threshold that gives it.
    pub precision_at_recall_90: f32,
    pub threshold_at_recall_90: f32,
}

/// Metrics of `decisions` (judged positive?) and `scores` against `labels`.
pub fn binary_metrics(labels: &[bool], decisions: &[bool], scores: &[f32]) -> BinaryMetrics {
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    let tp = labels.iter().zip(decisions).filter(|&(&l, &d)| l && d).count();
    let fp = labels.iter().zip(decisions).filter(|&(&l, &d)| !l && d).count();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, pos);
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // AUROC by ranks, ties shared.
    let mut auc_num = 0.0f64;
    let mut neg_above = 0usize;
    let mut i = 0;
    let (mut best_f1, mut best_f1_threshold) = (0.0f32, 1.0f32);
    let (mut p_at_r90, mut t_at_r90) = (0.0f32, 0.0f32);
    let (mut tp_c, mut fp_c) = (0usize, 0usize);
    while i < order.len() {
        let s = scores[order[i]];
        let mut j = i;
        let (mut tie_pos, mut tie_neg) = (0, 0);
        while j < order.len() && scores[order[j]] == s {
            if labels[order[j]] {
                tie_pos += 1;
            } else {
                tie_neg += 1;
            }
            j += 1;
        }
        auc_num += tie_pos as f64 * (neg - neg_above - tie_neg) as f64 + 0.5 * tie_pos as f64 * tie_neg as f64;
        neg_above += tie_neg;
        tp_c += tie_pos;
        fp_c += tie_neg;
        let (p, r) = (ratio(tp_c, tp_c + fp_c), ratio(tp_c, pos));
        let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        if f > best_f1 {
            best_f1 = f;
            best_f1_threshold = s;
        }
        if r >= 0.9 && p > p_at_r90 {
            p_at_r90 = p;
            t_at_r90 = s;
        }
        i = j;
    }
    let auroc = if pos == 0 || neg == 0 { 0.0 } else { (auc_num / (pos as f64 * neg as f64)) as f32 };
    BinaryMetrics {
        positives: pos,
        negatives: neg,
        precision,
        recall,
        f1,
        auroc,
        best_f1_threshold,
        best_f1,
        precision_at_recall_90: p_at_r90,
        threshold_at_recall_90: t_at_r90,
    }
}

/// The SQuAD support benchmark's result.
#[derive(Clone, Debug, Serialize)]
pub struct SquadReport {
    pub cases: usize,
    /// Of the Supported verdict (score: `support`), lexical only.
    pub metrics: BinaryMetrics,
    /// Share of the other-paragraph negatives judged Supported.
    pub false_positive_rate_other_paragraph: f32,
    /// Share of the other-answer negatives judged Supported.
    pub false_positive_rate_other_answer: f32,
    /// Support calls per second.
    pub cases_per_second: f64,
}

/// Runs [`support`] (lexical only) on `cases` and measures the Supported verdict.
pub fn squad_eval(cases: &[SupportCase], cfg: &SupportConfig) -> SquadReport {
    squad_eval_with(cases, cfg, None)
}

/// [`squad_eval`] with an embedder for the semantic score.
pub fn squad_eval_with(cases: &[SupportCase], cfg: &SupportConfig, embed: Option<crate::Embed<'_>>) -> SquadReport {
    let t = std::time::Instant::now();
    let results: Vec<(bool, f32)> = cases
        .iter()
        .map(|c| {
            let r = support(&c.question, &c.answer, &[c.evidence.as_str()], embed, cfg);
            (r.verdict == Verdict::Supported, r.support)
        })
        .collect();
    let secs = t.elapsed().as_secs_f64();
    let labels: Vec<bool> = cases.iter().map(SupportCase::label).collect();
    let decisions: Vec<bool> = results.iter().map(|r| r.0).collect();
    let scores: Vec<f32> = results.iter().map(|r| r.1).collect();
    let fpr = |kind: CaseKind| {
        let (n, fp) = cases
            .iter()
            .zip(&decisions)
            .filter(|(c, _)| c.kind == kind)
            .fold((0, 0), |(n, fp), (_, &d)| (n + 1, fp + usize::from(d)));
        if n == 0 { 0.0 } else { fp as f32 / n as f32 }
    };
    SquadReport {
        cases: cases.len(),
        metrics: binary_metrics(&labels, &decisions, &scores),
        false_positive_rate_other_paragraph: fpr(CaseKind::OtherParagraph),
        false_positive_rate_other_answer: fpr(CaseKind::OtherAnswer),
        cases_per_second: cases.len() as f64 / secs.max(1e-9),
    }
}

#[derive(Deserialize)]
struct HotpotItem {
    question: String,
    answer: String,
    supporting_facts: Vec<(String, usize)>,
    context: Vec<(String, Vec<String>)>,
}

/// The HotpotQA supporting-sentence benchmark's result (micro-averaged over sentences).
#[derive(Clone, Debug, Serialize)]
pub struct HotpotReport {
    pub questions: usize,
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
    /// Share of questions whose predicted set equals the gold set.
    pub exact_match: f32,
}

/// Reads a HotpotQA (distractor) file and measures [`supporting_sentences`] for the gold
/// answer against the gold supporting facts.
pub fn hotpot_eval(path: &Path, cfg: &SupportConfig) -> Result<HotpotReport, EvalError> {
    let items: Vec<HotpotItem> = read_json(path)?;
    let (mut tp, mut pred_n, mut gold_n, mut exact) = (0usize, 0usize, 0usize, 0usize);
    for it in &items {
        let passages: Vec<Vec<&str>> = it.context.iter().map(|(_, s)| s.iter().map(String::as_str).collect()).collect();
        let gold: HashSet<(usize, usize)> = it
            .supporting_facts
            .iter()
            .filter_map(|(title, i)| it.context.iter().position(|(t, _)| t == title).map(|p| (p, *i)))
            .collect();
        let pred: HashSet<(usize, usize)> =
            supporting_sentences(&it.question, &it.answer, &passages, cfg).into_iter().collect();
        tp += pred.intersection(&gold).count();
        pred_n += pred.len();
        gold_n += gold.len();
        exact += usize::from(pred == gold);
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };
    let (precision, recall) = (ratio(tp, pred_n), ratio(tp, gold_n));
    Ok(HotpotReport {
        questions: items.len(),
        precision,
        recall,
        f1: if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) },
        exact_match: ratio(exact, items.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_perfect_and_a_random_ranking() {
        let labels = [true, true, false, false];
        let m = binary_metrics(&labels, &[true, true, false, false], &[0.9, 0.8, 0.2, 0.1]);
        assert_eq!((m.precision, m.recall, m.auroc), (1.0, 1.0, 1.0));
        assert_eq!(m.precision_at_recall_90, 1.0);
        assert_eq!(m.threshold_at_recall_90, 0.8);
        let m = binary_metrics(&labels, &[true, true, true, true], &[0.5; 4]);
        assert_eq!((m.precision, m.recall, m.auroc), (0.5, 1.0, 0.5));
        assert_eq!(norm_answer("The Denver  Broncos!"), "denver broncos");
    }
}
