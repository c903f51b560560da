//! The self-contained HTML audit report.
//!
//! Everything is rendered server-side as static HTML, so a browser without JavaScript
//! shows every record; a small inline script only adds the filters. All corpus and model
//! text goes through [`escape::html`]; no data is ever written inside the `<script>`
//! element.
//!
//! Each task of the v2 record schema has its layout: dialogues and passages turn by turn
//! (paragraph by paragraph), each verified turn with its own verdict and evidence;
//! preference pairs with the chosen answer (and its evidence) beside the rejected one;
//! topic-tree nodes under their path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use quarry_core::{Citation, Counts, QuoteMatch, Record, Reject, RunSummary, Turn, Verdict, heading_path_display};
use serde_json::Value;

use crate::escape::{html as esc, push_html};
use crate::highlight::{Placement, place};
use crate::summary::{BINS, DocRef, Summary, record_sources, reject_docs};
use crate::task::{Shape, controls, has_round_trip, question_type, shape, task_name, turn_label, turns_cite, verified};
use crate::{ChunkView, ReportError, RunView, fsutil};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

const STYLE: &str = r#"
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--accent:#0969da;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--rej:#6e7781}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;color:var(--fg);background:var(--soft)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:0 0 8px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.sub{color:var(--muted);margin:0 0 10px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.tile{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.tile .n{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
.tile .l{color:var(--muted);font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px;margin-top:12px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:12px 14px;min-width:0}
.scroll{max-height:330px;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{padding:3px 6px;text-align:left;vertical-align:top;border-bottom:1px solid var(--soft)}
th{color:var(--muted);font-weight:500}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.barcell{width:32%;vertical-align:middle}
.bar{display:block;height:10px;background:var(--accent);border-radius:2px;opacity:.7}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--rej)}
.b-supported{background:var(--ok)}.b-partial{background:var(--warn)}.b-unsupported{background:var(--bad)}
.tag{display:inline-block;padding:0 7px;border:1px solid var(--line);border-radius:10px;font-size:12px;color:var(--fg)}
.filters{position:sticky;top:0;z-index:1;background:var(--soft);padding:8px 0;display:flex;gap:14px;flex-wrap:wrap;align-items:center;font-size:14px;border-bottom:1px solid var(--line)}
select{font:inherit;padding:2px 4px;max-width:260px}
.record,.reject{background:var(--bg);border:1px solid var(--line);border-left:4px solid var(--rej);border-radius:8px;padding:14px 16px;margin:12px 0}
.record[data-verdict=supported]{border-left-color:var(--ok)}
.record[data-verdict=partial]{border-left-color:var(--warn)}
.record[data-verdict=unsupported]{border-left-color:var(--bad)}
.head{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;font-size:13px;color:var(--muted)}
.head b{color:var(--fg)}
.head a{color:var(--muted);text-decoration:none}
.q{font-weight:600;font-size:16px;margin:10px 0 6px;white-space:pre-wrap}
.a{white-space:pre-wrap;margin:0 0 8px}
.label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;margin:8px 0 2px}
.reasons{margin:6px 0;padding-left:20px;color:var(--warn);font-size:14px}
.cite{border-top:1px dashed var(--line);padding-top:8px;margin-top:10px}
.cite-head{font-size:13px;color:var(--muted)}
.cite-head b{color:var(--fg)}
.chunk{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);border-radius:6px;padding:8px 10px;margin:6px 0;font-size:14px}
.qt{text-decoration:underline 2px #2b6cb0;text-underline-offset:2px;font-weight:600}
.terms{font-size:13px;margin:4px 0}.terms .miss{color:#b42318;text-decoration:line-through}
mark{background:#fff1a8;color:inherit;padding:0 1px;border-radius:2px;box-shadow:0 0 0 1px #e3c94a}
.note{font-size:13px;color:var(--bad);margin:4px 0}
.mq{font-size:13px;color:var(--muted);margin:4px 0;white-space:pre-wrap}
details{margin-top:8px}
details>summary{cursor:pointer;color:var(--muted);font-size:13px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;background:var(--soft);padding:8px;border-radius:6px;max-height:420px;overflow:auto}
.kv td:first-child{color:var(--muted);white-space:nowrap;width:1%}
.kv .kv{margin:0}
svg{display:block;max-width:100%;height:auto}
svg text{font-size:10px;fill:#656d76}
.legend{font-size:12px;color:var(--muted)}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 8px;vertical-align:-1px}
.ok{color:var(--ok)}.bad{color:var(--bad)}
.crumbs{font-size:13px;color:var(--muted);margin:8px 0 0}
.crumbs b{color:var(--fg)}
.controls{display:flex;flex-wrap:wrap;gap:4px 6px;margin:8px 0 0}
.controls b{font-weight:600}
.turns{margin:10px 0 0}
.turn{border-left:3px solid var(--line);padding:4px 0 4px 12px;margin:8px 0}
.turn.r-assistant{border-left-color:var(--accent)}
.turn.r-text{border-left-color:var(--muted)}
.turn-head,.side-head{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;font-size:13px;color:var(--muted)}
.turn-head b,.side-head b{color:var(--fg)}
.turn .a{margin:2px 0 4px}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px;margin:10px 0}
.side{border:1px solid var(--line);border-top:4px solid var(--rej);border-radius:8px;padding:8px 10px;min-width:0}
.side.chosen{border-top-color:var(--ok)}
.side.rejected{border-top-color:var(--bad)}
.side .a{margin:6px 0}
@media (max-width:760px){.pair{grid-template-columns:minmax(0,1fr)}}
.review{position:fixed;left:0;right:0;bottom:0;z-index:2;background:var(--soft);border-top:2px solid var(--fg);padding:8px 16px;font-size:14px}
.review-row{display:flex;gap:10px;flex-wrap:wrap;align-items:center}
body.reviewing main{padding-bottom:110px}
.record.current{outline:3px solid #2563eb;outline-offset:2px}
.record[data-review=keep]{border-left:6px solid var(--ok)}
.record[data-review=reject]{border-left:6px solid var(--bad);opacity:.75}
.review-mark{font-size:12px;font-weight:600;margin-left:8px}
"#;

/// Toggles `hidden` on `.record` / `.reject` elements from the four selects. Holds no
/// data: the filter values come from the elements' `data-` attributes.
const SCRIPT: &str = r#"
(function () {
  var bar = document.getElementById('filters');
  if (!bar) return;
  var sels = bar.querySelectorAll('select[data-filter]');
  var items = document.querySelectorAll('.record, .reject');
  var shown = document.getElementById('shown');
  function apply() {
    var f = {};
    sels.forEach(function (s) { f[s.getAttribute('data-filter')] = s.value; });
    var n = 0;
    items.forEach(function (el) {
      var docs = ' ' + (el.getAttribute('data-docs') || '') + ' ';
      var ok = (!f.task || el.getAttribute('data-task') === f.task) &&
        (!f.verdict || el.getAttribute('data-verdict') === f.verdict) &&
        (!f.qtype || el.getAttribute('data-qtype') === f.qtype) &&
        (!f.doc || docs.indexOf(' ' + f.doc + ' ') >= 0);
      el.hidden = !ok;
      if (ok) n++;
    });
    if (shown) shown.textContent = n + ' of ' + items.length + ' shown';
  }
  sels.forEach(function (s) { s.addEventListener('change', apply); });
  bar.hidden = false;
  apply();
})();
"#;

/// Review mode: a person keeps or rejects records with the keyboard; the decisions live in
/// the browser's localStorage (per run id) and download as decisions.json for
/// `quarry review apply`. Holds no data: ids come from the records' `id` attributes, and a
/// note is only ever written as text.
const REVIEW_SCRIPT: &str = r#"
(function () {
  var main = document.getElementById('report');
  var panel = document.getElementById('review');
  if (!main || !panel) return;
  var runId = main.getAttribute('data-run-id') || '';
  var key = 'quarry-review-' + runId;
  var records = Array.prototype.slice.call(document.querySelectorAll('article.record'));
  var $ = function (id) { return document.getElementById(id); };
  var cat = $('review-category'), note = $('review-note'), who = $('review-reviewer');
  var store = {};
  try { store = JSON.parse(localStorage.getItem(key) || '{}') || {}; } catch (e) { store = {}; }
  try { who.value = localStorage.getItem('quarry-reviewer') || ''; } catch (e) {}
  var at = 0, on = false, started = false;
  function idOf(el) { return el.id.replace(/^rec-/, ''); }
  function visible() { return records.filter(function (el) { return !el.hidden; }); }
  function save() { try { localStorage.setItem(key, JSON.stringify(store)); } catch (e) {} }
  function mark(el) {
    var d = store[idOf(el)];
    if (d) el.setAttribute('data-review', d.decision); else el.removeAttribute('data-review');
    var m = el.querySelector('.review-mark');
    if (!m) { m = document.createElement('span'); m.className = 'review-mark'; var h = el.querySelector('h3, .q, header') || el.firstElementChild; if (h) h.appendChild(m); }
    m.textContent = d ? (d.decision === 'keep' ? 'kept' : 'rejected: ' + d.category) : '';
  }
  function show() {
    var list = visible();
    if (at >= list.length) at = list.length - 1;
    if (at < 0) at = 0;
    records.forEach(function (el) { el.classList.remove('current'); });
    var el = list[at];
    var done = records.filter(function (r) { return store[idOf(r)]; }).length;
    var kept = records.filter(function (r) { var d = store[idOf(r)]; return d && d.decision === 'keep'; }).length;
    $('review-progress').textContent = done + ' of ' + records.length + ' decided (' + kept + ' kept, ' + (done - kept) + ' rejected) · record ' + (list.length ? at + 1 : 0) + ' of ' + list.length;
    if (!el) { $('review-current').textContent = ''; return; }
    el.classList.add('current');
    $('review-current').textContent = idOf(el);
    var d = store[idOf(el)];
    note.value = d ? d.note : '';
    if (d && d.category) cat.value = d.category;
    if (on) el.scrollIntoView({block: 'center'});
  }
  function decide(decision) {
    var el = visible()[at];
    if (!el) return;
    try { localStorage.setItem('quarry-reviewer', who.value); } catch (e) {}
    store[idOf(el)] = {decision: decision, category: decision === 'reject' ? cat.value : '', note: note.value, reviewer: who.value, time: new Date().toISOString()};
    save(); mark(el); at++; show();
  }
  function undecide() { var el = visible()[at]; if (el) { delete store[idOf(el)]; save(); mark(el); show(); } }
  function download() {
    var ds = Object.keys(store).sort().map(function (id) { var d = store[id]; return {id: id, decision: d.decision, category: d.category, note: d.note, reviewer: d.reviewer, time: d.time}; });
    var blob = new Blob([JSON.stringify({run_id: runId, decisions: ds}, null, 2)], {type: 'application/json'});
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = 'decisions.json';
    document.body.appendChild(a); a.click(); a.remove();
  }
  function toggle() {
    on = !on; panel.hidden = !on; document.body.classList.toggle('reviewing', on);
    // A new visit starts at the first record not yet decided.
    if (on && !started) { started = true; var list = visible(); for (at = 0; at < list.length && store[idOf(list[at])]; at++); }
    if (on) show(); else records.forEach(function (el) { el.classList.remove('current'); });
  }
  records.forEach(mark);
  var bar = document.getElementById('filters');
  if (bar) { var b = document.createElement('button'); b.type = 'button'; b.id = 'review-toggle'; b.textContent = 'Review (v)'; b.addEventListener('click', toggle); bar.appendChild(b); }
  $('review-keep').addEventListener('click', function () { decide('keep'); });
  $('review-reject').addEventListener('click', function () { decide('reject'); });
  $('review-download').addEventListener('click', download);
  [note, who].forEach(function (i) { i.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === 'Escape') { i.blur(); e.preventDefault(); } }); });
  document.addEventListener('keydown', function (e) {
    var t = e.target && e.target.tagName;
    if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'v') { toggle(); e.preventDefault(); return; }
    if (!on) return;
    var k = e.key;
    if (k === 'j') { at++; show(); }
    else if (k === 'k') { at--; show(); }
    else if (k === 'a') decide('keep');
    else if (k === 'r') decide('reject');
    else if (k === 'u') undecide();
    else if (k === 'n') { note.focus(); }
    else if (k === 'd') download();
    else if (k >= '1' && k <= '9' && cat.options[+k - 1]) cat.selectedIndex = +k - 1;
    else return;
    e.preventDefault();
  });
  if (location.hash === '#review') toggle();
})();
"#;

/// Renders a run as one self-contained HTML page (inline CSS, JS and SVG; works offline).
pub fn render_html(view: &RunView) -> String {
    let summary = Summary::of_run(&view.records, &view.rejects, &view.chunks);
    let run = &view.run;
    let run_id = run.run_id.clone();
    // Rejects carry no task: they belong to the run's.
    let run_task = run.task.map(|t| t.as_str().to_owned()).unwrap_or_default();
    let mut out = String::with_capacity(16 * 1024 + view.records.len() * 4096);

    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"quarry-report\">\n");
    w!(out, "<title>quarry run {}</title>\n", esc(run_id.as_deref().unwrap_or("report")));
    w!(out, "<style>{STYLE}</style>\n</head>\n<body>\n");
    w!(out, "<main id=\"report\" data-run-id=\"{}\">\n", esc(run_id.as_deref().unwrap_or("")));

    header(&mut out, run, run_id.as_deref());
    summary_section(&mut out, view, &summary);
    filters(&mut out, view, &summary, &run_task);

    w!(out, "<h2 id=\"records\">Records ({})</h2>\n", view.records.len());
    if view.records.is_empty() {
        out.push_str("<p class=\"sub\">No accepted records.</p>\n");
    }
    for r in &view.records {
        record(&mut out, r, &view.chunks);
    }

    w!(out, "<h2 id=\"rejects\">Rejects ({})</h2>\n", view.rejects.len());
    if view.rejects.is_empty() {
        out.push_str("<p class=\"sub\">No rejects.</p>\n");
    }
    for r in &view.rejects {
        reject(&mut out, r, &view.chunks, &run_task);
    }

    out.push_str("<h2 id=\"run\">Run</h2>\n<div class=\"card\">\n");
    json_value(&mut out, &run.to_json(), 0);
    out.push_str("</div>\n</main>\n");
    review_panel(&mut out);
    w!(out, "<script>{SCRIPT}{REVIEW_SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// The reasons a reviewer may give for rejecting a record: the judged set's categories
/// (tests/judged/README.md), so reviewed records can join it.
pub const REVIEW_CATEGORIES: &[(&str, &str)] = &[
    ("wrong_answer", "wrong answer"),
    ("unsupported", "evidence does not state it"),
    ("does_not_answer", "does not answer"),
    ("partial", "partial answer"),
    ("off_topic", "off topic"),
    ("false_premise", "false premise"),
    ("not_standalone", "not standalone"),
    ("vague", "vague"),
    ("incoherent", "incoherent"),
];

/// The review panel, hidden until review mode is on (the Review button or `v`).
fn review_panel(out: &mut String) {
    out.push_str("<div id=\"review\" class=\"review\" hidden>\n<div class=\"review-row\">");
    out.push_str("<b>Review</b> <span id=\"review-progress\" class=\"sub\"></span>");
    out.push_str("<span id=\"review-current\" class=\"mono\"></span>");
    out.push_str("<button id=\"review-keep\" type=\"button\">Keep (a)</button>");
    out.push_str("<button id=\"review-reject\" type=\"button\">Reject (r)</button>");
    out.push_str("<label>reason <select id=\"review-category\">");
    for (i, (code, label)) in REVIEW_CATEGORIES.iter().enumerate() {
        w!(out, "<option value=\"{code}\">{} {label}</option>", i + 1);
    }
    out.push_str("</select></label>");
    out.push_str("<label>note (n) <input id=\"review-note\" type=\"text\" size=\"28\"></label>");
    out.push_str("<label>reviewer <input id=\"review-reviewer\" type=\"text\" size=\"10\"></label>");
    out.push_str("<button id=\"review-download\" type=\"button\">Download decisions (d)</button>");
    out.push_str("</div>\n<div class=\"sub\">j / k next / previous · a keep · r reject with the reason chosen (1–9) · n note · u undecided · d download decisions.json · v leave review · decisions stay in this browser</div>\n</div>\n");
}

/// Renders the report and writes it to `path` atomically.
pub fn write_html(view: &RunView, path: &Path) -> Result<(), ReportError> {
    fsutil::write_bytes_atomic(path, render_html(view).as_bytes())
}

// ---------------------------------------------------------------- header and summary

fn header(out: &mut String, run: &RunSummary, run_id: Option<&str>) {
    w!(out, "<h1>quarry run <span class=\"mono\">{}</span></h1>\n", esc(run_id.unwrap_or("(no run id)")));
    let task = run.task.map(|t| t.as_str().to_owned());
    let parts: Vec<String> = [("task", &task), ("model", &run.model), ("backend", &run.backend), ("index", &run.index)]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k} <b>{}</b>", esc(v))))
        .collect();
    if !parts.is_empty() {
        w!(out, "<p class=\"sub\">{}</p>\n", parts.join(" · "));
    }
    out.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#records\">Records</a><a href=\"#rejects\">Rejects</a>\
         <a href=\"#run\">Run</a></nav>\n",
    );
}

fn summary_section(out: &mut String, view: &RunView, s: &Summary) {
    let run = &view.run;
    out.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"tiles\">\n");
    let accepted = run.accepted.unwrap_or(view.records.len() as u64);
    let rejected = run.rejected.unwrap_or(view.rejects.len() as u64);
    let prompt = run.usage.map_or(s.prompt_tokens, |u| u.prompt_tokens);
    let completion = run.usage.map_or(s.completion_tokens, |u| u.completion_tokens);
    if let Some(t) = run.target {
        tile(out, &t.to_string(), "target");
    }
    tile(out, &accepted.to_string(), "accepted");
    tile(out, &rejected.to_string(), "rejected");
    if accepted + rejected > 0 {
        tile(out, &format!("{:.0}%", 100.0 * accepted as f64 / (accepted + rejected) as f64), "acceptance rate");
    }
    tile(out, &thousands(prompt), "prompt tokens");
    tile(out, &thousands(completion), "completion tokens");
    if let Some(per) = (prompt + completion).checked_div(accepted) {
        tile(out, &thousands(per), "tokens per accepted record");
    }
    if let Some(secs) = run.elapsed_s {
        tile(out, &duration(secs), "elapsed");
        if accepted > 0 && secs > 0.0 {
            tile(out, &format!("{:.1}", accepted as f64 * 60.0 / secs), "records per minute");
        }
    }
    if let Some(d) = &run.dedup {
        tile(out, &thousands(d.duplicates as u64), "duplicates removed");
    }
    if !view.languages.is_empty() {
        let mut by: Vec<(&String, &usize)> = view.languages.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = by.iter().map(|(l, n)| format!("{l} {n}")).collect();
        tile(out, &shown.join(" · "), "records by language");
    }
    out.push_str("</div>\n<div class=\"cards\">\n");

    let by_task: Option<Counts> = run.extra.get("counts_by_task").and_then(|v| serde_json::from_value(v.clone()).ok());
    count_card(out, "Tasks", ("task", "records"), &s.by_task, by_task.as_ref(), false);
    count_card(out, "Verdicts", ("verdict", "records"), &s.by_verdict, run.counts_by_verdict.as_ref(), true);
    count_card(out, "Question types", ("type", "records"), &s.by_type, None, false);
    histogram_card(out, s);
    count_card(out, "Reject reasons", ("reason", "rejects"), &s.by_reason, run.counts_by_reason.as_ref(), false);
    if !s.by_stage.is_empty() {
        count_card(out, "Rejects by stage", ("stage", "rejects"), &s.by_stage, None, false);
    }
    coverage_cards(out, s);
    timing_card(out, view, s);
    dedup_card(out, view);
    out.push_str("</div>\n");
}

/// run.json's `dedup` object (`{"duplicates": N, "largest_clusters": [{"record": id,
/// "duplicates": [ids]}]}`): the number of duplicates and the largest clusters, each kept
/// record and its duplicates linked where the report shows them. Nothing for runs without
/// one.
fn dedup_card(out: &mut String, view: &RunView) {
    const SHOWN_IDS: usize = 20;
    let Some(dedup) = &view.run.dedup else { return };
    let records: BTreeSet<String> = view.records.iter().map(|r| r.id.to_string()).collect();
    let rejects: BTreeSet<String> = view.rejects.iter().map(|r| r.id.to_string()).collect();
    let link = |out: &mut String, id: &str| {
        if records.contains(id) {
            w!(out, "<a class=\"mono\" href=\"#rec-{0}\">{0}</a>", esc(id));
        } else if rejects.contains(id) {
            w!(out, "<a class=\"mono\" href=\"#rej-{0}\">{0}</a>", esc(id));
        } else {
            w!(out, "<span class=\"mono\">{}</span>", esc(id));
        }
    };
    out.push_str("<div class=\"card\"><h3>Duplicates</h3>\n");
    let n = dedup.duplicates as u64;
    w!(out, "<p><b>{}</b> duplicate{} removed.</p>\n", thousands(n), if n == 1 { "" } else { "s" });
    let clusters = &dedup.largest_clusters;
    if !clusters.is_empty() {
        out.push_str(
            "<div class=\"scroll\"><table><tr><th>kept record</th><th class=\"n\">duplicates</th><th>of it</th></tr>\n",
        );
        for c in clusters {
            let of = c.record.to_string();
            let dups: Vec<String> = c.duplicates.iter().map(ToString::to_string).collect();
            out.push_str("<tr><td>");
            link(out, &of);
            w!(out, "</td><td class=\"n\">{}</td><td>", dups.len());
            for (i, d) in dups.iter().take(SHOWN_IDS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                link(out, d);
            }
            if dups.len() > SHOWN_IDS {
                w!(out, " and {} more", dups.len() - SHOWN_IDS);
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</table></div>");
    }
    out.push_str("</div>\n");
}

fn tile(out: &mut String, value: &str, label: &str) {
    w!(out, "<div class=\"tile\"><div class=\"n\">{}</div><div class=\"l\">{}</div></div>\n", esc(value), esc(label));
}

/// A table of counts with bars (`columns`: the key's and the count's headers). When
/// `from_run` (a run.json object of counts) is given and differs from the computed
/// counts, its numbers are shown in a second column. Verdicts are listed in their
/// natural order, everything else by count.
fn count_card(
    out: &mut String,
    title: &str,
    (key, unit): (&str, &str),
    computed: &BTreeMap<String, usize>,
    from_run: Option<&Counts>,
    verdicts: bool,
) {
    let run_counts: BTreeMap<String, usize> =
        from_run.map(|m| m.iter().map(|(k, n)| (k.clone(), *n as usize)).collect()).unwrap_or_default();
    let differs = !run_counts.is_empty() && run_counts != *computed;
    let count_of = |k: &str| computed.get(k).copied().unwrap_or(0).max(run_counts.get(k).copied().unwrap_or(0));
    let mut keys: Vec<&String> =
        computed.keys().chain(run_counts.keys()).collect::<BTreeSet<_>>().into_iter().collect();
    w!(out, "<div class=\"card\"><h3>{}</h3>\n", esc(title));
    if keys.is_empty() {
        out.push_str("<p class=\"sub\">None.</p></div>\n");
        return;
    }
    if verdicts {
        keys.sort_by_key(|k| ["supported", "partial", "unsupported"].iter().position(|v| v == k).unwrap_or(3));
    } else {
        keys.sort_by_key(|k| std::cmp::Reverse(count_of(k)));
    }
    let max = keys.iter().map(|k| count_of(k)).max().unwrap_or(0);
    w!(out, "<table><tr><th>{key}</th><th class=\"n\">{unit}{}</th>", if differs { " in report" } else { "" });
    if differs {
        out.push_str("<th class=\"n\">run.json</th>");
    }
    out.push_str("<th></th></tr>\n");
    for k in keys {
        let n = computed.get(k).copied().unwrap_or(0);
        let label = if verdicts { format!("<span class=\"badge b-{0}\">{0}</span>", esc(k)) } else { esc(k) };
        w!(out, "<tr><td>{label}</td><td class=\"n\">{n}</td>");
        if differs {
            w!(out, "<td class=\"n\">{}</td>", run_counts.get(k).map_or_else(|| "–".to_owned(), usize::to_string));
        }
        w!(out, "<td class=\"barcell\">{}</td></tr>\n", bar(count_of(k), max));
    }
    out.push_str("</table></div>\n");
}

fn bar(n: usize, max: usize) -> String {
    let pct = if max == 0 { 0.0 } else { 100.0 * n as f64 / max as f64 };
    format!("<span class=\"bar\" style=\"width:{pct:.1}%\"></span>")
}

/// The support-score histogram as an inline SVG: accepted records stacked with the
/// rejects that reached the verifier.
fn histogram_card(out: &mut String, s: &Summary) {
    const W: f64 = 330.0;
    const H: f64 = 150.0;
    const LEFT: f64 = 8.0;
    const BOTTOM: f64 = 20.0;
    const TOP: f64 = 14.0;
    let max = (0..BINS).map(|i| s.support_hist[i] + s.reject_hist[i]).max().unwrap_or(0).max(1);
    let slot = (W - 2.0 * LEFT) / BINS as f64;
    let scale = (H - BOTTOM - TOP) / max as f64;
    out.push_str("<div class=\"card\"><h3>Support score</h3>\n");
    w!(
        out,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"support score histogram\">\n"
    );
    let base = H - BOTTOM;
    for i in 0..BINS {
        let (acc, rej) = (s.support_hist[i], s.reject_hist[i]);
        let x = LEFT + i as f64 * slot + 2.0;
        let bw = slot - 4.0;
        let ha = acc as f64 * scale;
        let hr = rej as f64 * scale;
        let (lo, hi) = (i as f64 / BINS as f64, (i + 1) as f64 / BINS as f64);
        let tip = format!("{lo:.1}–{hi:.1}: {acc} record(s), {rej} verified reject(s)");
        w!(out, "<g><title>{tip}</title>");
        if acc > 0 {
            w!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{ha:.1}\" fill=\"#0969da\" opacity=\".75\"/>",
                base - ha
            );
        }
        if rej > 0 {
            w!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{hr:.1}\" fill=\"#afb8c1\"/>",
                base - ha - hr
            );
        }
        if acc + rej > 0 {
            w!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                base - ha - hr - 3.0,
                acc + rej
            );
        }
        out.push_str("</g>\n");
    }
    w!(out, "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#d0d7de\"/>\n", W - LEFT);
    for (i, label) in [(0, "0"), (BINS / 2, "0.5"), (BINS, "1")] {
        let x = LEFT + i as f64 * slot;
        w!(out, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>\n", H - 6.0);
    }
    out.push_str(
        "</svg>\n<div class=\"legend\"><span class=\"sw\" style=\"background:#0969da;opacity:.75\"></span>records",
    );
    out.push_str("<span class=\"sw\" style=\"background:#afb8c1\"></span>rejects scored by the verifier</div></div>\n");
}

fn coverage_cards(out: &mut String, s: &Summary) {
    out.push_str("<div class=\"card\"><h3>Coverage by document</h3>\n");
    if s.by_doc.is_empty() {
        out.push_str("<p class=\"sub\">No records.</p>");
    } else {
        let max = s.by_doc.values().copied().max().unwrap_or(0);
        let mut docs: Vec<_> = s.by_doc.iter().collect();
        docs.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        out.push_str("<div class=\"scroll\"><table><tr><th>document</th><th class=\"n\">records</th><th></th></tr>\n");
        for (d, n) in docs {
            w!(
                out,
                "<tr><td title=\"{}\">{}</td><td class=\"n\">{n}</td><td class=\"barcell\">{}</td></tr>\n",
                esc(&d.doc_id),
                esc(doc_label(d)),
                bar(*n, max)
            );
        }
        out.push_str("</table></div>");
    }
    out.push_str("</div>\n<div class=\"card\"><h3>Coverage by section</h3>\n");
    if s.by_section.is_empty() {
        out.push_str("<p class=\"sub\">No records.</p>");
    } else {
        let max = s.by_section.values().copied().max().unwrap_or(0);
        let mut secs: Vec<_> = s.by_section.iter().collect();
        secs.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        out.push_str("<div class=\"scroll\"><table><tr><th>section</th><th class=\"n\">records</th><th></th></tr>\n");
        for ((d, path), n) in secs {
            let path = if path.is_empty() { String::new() } else { format!(" › {}", heading_path_display(path)) };
            w!(
                out,
                "<tr><td><b>{}</b>{}</td><td class=\"n\">{n}</td><td class=\"barcell\">{}</td></tr>\n",
                esc(doc_label(d)),
                esc(&path),
                bar(*n, max)
            );
        }
        out.push_str("</table></div>");
    }
    out.push_str("</div>\n");
}

fn timing_card(out: &mut String, view: &RunView, s: &Summary) {
    let n = view.records.len();
    if n == 0 {
        return;
    }
    out.push_str("<div class=\"card\"><h3>Time per record (mean)</h3>\n<table>\n");
    let total: f64 = s.stage_ms.iter().sum();
    let max = s.stage_ms.iter().copied().fold(0.0, f64::max);
    for (name, ms) in ["question", "retrieval", "answer", "verify"].iter().zip(s.stage_ms) {
        let pct = if max > 0.0 { 100.0 * ms / max } else { 0.0 };
        w!(
            out,
            "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"barcell\"><span class=\"bar\" style=\"width:{pct:.1}%\"></span></td></tr>\n",
            millis(ms / n as f64)
        );
    }
    w!(out, "<tr><th>total</th><th class=\"n\">{}</th><th></th></tr>\n</table></div>\n", millis(total / n as f64));
}

fn filters(out: &mut String, view: &RunView, s: &Summary, run_task: &str) {
    out.push_str("<div id=\"filters\" class=\"filters\" hidden>\n");
    let mut tasks: BTreeSet<&str> = s.by_task.keys().map(String::as_str).collect();
    if !view.rejects.is_empty() && !run_task.is_empty() {
        tasks.insert(run_task);
    }
    let tasks: Vec<(String, String)> = tasks.into_iter().map(|t| (t.to_owned(), t.to_owned())).collect();
    select(out, "task", "Task", &tasks);
    let mut verdicts: Vec<(String, String)> = s.by_verdict.keys().map(|v| (v.clone(), v.clone())).collect();
    verdicts.sort_by_key(|(v, _)| ["supported", "partial", "unsupported"].iter().position(|n| n == v).unwrap_or(3));
    if !view.rejects.is_empty() {
        verdicts.push(("rejected".into(), "rejected".into()));
    }
    select(out, "verdict", "Verdict", &verdicts);
    let types: BTreeSet<&String> = s.by_type.keys().chain(s.reject_types.iter()).collect();
    let types: Vec<(String, String)> = types.into_iter().map(|t| (t.clone(), t.clone())).collect();
    select(out, "qtype", "Question type", &types);
    let docs: BTreeSet<&DocRef> = s.by_doc.keys().chain(s.reject_docs.iter()).collect();
    let mut docs: Vec<(String, String)> =
        docs.into_iter().map(|d| (d.doc_id.clone(), doc_label(d).to_owned())).collect();
    docs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    docs.dedup_by(|a, b| a.0 == b.0);
    select(out, "doc", "Document", &docs);
    out.push_str("<span id=\"shown\" class=\"sub\"></span>\n</div>\n");
}

fn select(out: &mut String, key: &str, label: &str, options: &[(String, String)]) {
    w!(out, "<label>{label} <select data-filter=\"{key}\"><option value=\"\">all</option>");
    for (value, text) in options {
        w!(out, "<option value=\"{}\">{}</option>", esc(value), esc(text));
    }
    out.push_str("</select></label>\n");
}

// ---------------------------------------------------------------- records and rejects

fn record(out: &mut String, r: &Record, chunks: &HashMap<String, ChunkView>) {
    let (docs, _) = record_sources(r, chunks);
    let doc_ids: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
    let verdict = r.verdict.as_str();
    let task = task_name(r);
    let shape = shape(r);
    w!(
        out,
        "<article class=\"record\" id=\"rec-{}\" data-verdict=\"{verdict}\" data-task=\"{}\" data-qtype=\"{}\" data-docs=\"{}\">\n",
        esc(&r.id.to_string()),
        esc(task),
        esc(&r.question_type),
        esc(&doc_ids.join(" "))
    );
    w!(out, "<div class=\"head\"><span class=\"badge b-{verdict}\">{verdict}</span>");
    w!(out, "<span class=\"tag\">{}</span>", esc(task));
    if let Some(qtype) = question_type(r) {
        w!(out, "<span class=\"tag\">{}</span>", esc(qtype));
    }
    w!(out, "<a class=\"mono\" href=\"#rec-{0}\">{0}</a>", esc(&r.id.to_string()));
    w!(out, "<span>support <b>{}</b></span>", score(r.scores.support));
    w!(out, "<span>quote match <b>{}</b></span>", score(r.scores.quote_match));
    if has_round_trip(r) {
        if r.scores.round_trip_rank > 0 {
            w!(out, "<span>round-trip rank <b>#{}</b></span>", r.scores.round_trip_rank);
        } else {
            out.push_str("<span>round-trip rank <b class=\"bad\">miss</b></span>");
        }
    }
    if shape == Shape::Dialogue {
        w!(out, "<span><b>{}</b> turns</span>", r.turns.len());
    }
    if r.scores.user_content_share >= 0.0 {
        w!(out, "<span>user content share <b>{}</b></span>", score(r.scores.user_content_share));
    }
    out.push_str("</div>\n");
    if !r.topic_path.is_empty() {
        breadcrumb(out, &r.topic_path);
    }
    if let Some(parent) = &r.parent_id {
        w!(
            out,
            "<p class=\"mq\">made from <a class=\"mono\" href=\"#rec-{0}\">{0}</a></p>\n",
            esc(&parent.to_string())
        );
    }
    controls_row(out, r);
    match shape {
        Shape::Qa => {
            w!(out, "<p class=\"q\">{}</p>\n", esc(&r.question));
            w!(out, "<div class=\"label\">answer</div><div class=\"a\">{}</div>\n", esc(&r.answer));
        }
        Shape::Dialogue => {
            out.push_str("<div class=\"label\">dialogue</div>\n");
            turns(out, &r.turns, chunks);
        }
        Shape::Passage => {
            w!(out, "<div class=\"label\">topic</div><p class=\"q\">{}</p>\n", esc(&r.question));
            if r.turns.is_empty() {
                w!(out, "<div class=\"label\">passage</div><div class=\"a\">{}</div>\n", esc(&r.answer));
            } else {
                w!(out, "<div class=\"label\">passage ({} paragraphs)</div>\n", r.turns.len());
                turns(out, &r.turns, chunks);
            }
        }
        Shape::Topic => {
            w!(out, "<div class=\"label\">topic</div><p class=\"q\">{}</p>\n", esc(&r.question));
            if !r.answer.is_empty() {
                w!(out, "<div class=\"a\">{}</div>\n", esc(&r.answer));
            }
        }
        Shape::Preference => {
            w!(out, "<div class=\"label\">prompt</div><p class=\"q\">{}</p>\n", esc(&r.question));
            preference_pair(out, r, chunks);
        }
    }
    if !r.reasons.is_empty() {
        out.push_str("<ul class=\"reasons\">");
        for reason in &r.reasons {
            w!(out, "<li>{}</li>", esc(reason));
        }
        out.push_str("</ul>\n");
    }
    sentence_table(out, r);
    // Turns and the chosen side show their own evidence; `citations` is their union.
    if shape != Shape::Preference && !turns_cite(r) {
        if r.citations.is_empty() {
            out.push_str("<p class=\"note\">No citations.</p>\n");
        }
        let terms = question_terms(&r.question);
        if matches!(shape, Shape::Qa) && !r.citations.is_empty() {
            terms_line(out, &terms, &r.citations, chunks);
        }
        for c in &r.citations {
            citation(out, c, chunks.get(&c.chunk_id), &terms);
        }
    }
    out.push_str("<details><summary>Record JSON</summary><pre>");
    push_html(out, &serde_json::to_string_pretty(r).unwrap_or_default());
    out.push_str("</pre></details>\n</article>\n");
}

fn sentence_table(out: &mut String, r: &Record) {
    if r.scores.sentences.is_empty() {
        return;
    }
    w!(out, "<details><summary>Sentence support ({})</summary><table>", r.scores.sentences.len());
    out.push_str("<tr><th>sentence</th><th class=\"n\">lexical</th><th class=\"n\">semantic</th><th></th></tr>\n");
    for s in &r.scores.sentences {
        let semantic = if s.semantic < 0.0 { "–".to_owned() } else { score(s.semantic) };
        let mark = if s.supported { "<span class=\"ok\">✓</span>" } else { "<span class=\"bad\">✗</span>" };
        w!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{semantic}</td><td>{mark}</td></tr>\n",
            esc(&s.sentence),
            score(s.lexical)
        );
    }
    out.push_str("</table></details>\n");
}

/// The topic-tree path, root first, the node itself in bold.
fn breadcrumb(out: &mut String, path: &[String]) {
    out.push_str("<div class=\"crumbs\">topic ");
    for (i, part) in path.iter().enumerate() {
        if i > 0 {
            out.push_str(" › ");
        }
        if i + 1 == path.len() {
            w!(out, "<b>{}</b>", esc(part));
        } else {
            w!(out, "<span>{}</span>", esc(part));
        }
    }
    out.push_str("</div>\n");
}

/// The conversation controls that are set, as tags; nothing when none is.
fn controls_row(out: &mut String, r: &Record) {
    let set = controls(r);
    if set.is_empty() {
        return;
    }
    out.push_str("<div class=\"controls\">");
    for (name, value) in set {
        w!(out, "<span class=\"tag\">{name}: <b>{}</b></span>", esc(value));
    }
    out.push_str("</div>\n");
}

/// The badge class of a verdict given as text (only the three known verdicts get colour).
fn verdict_class(v: &str) -> &'static str {
    match v {
        "supported" => " b-supported",
        "partial" => " b-partial",
        "unsupported" => " b-unsupported",
        _ => "",
    }
}

/// The verdict badge and support score of a verified part, or "not verified".
fn verdict_badge(out: &mut String, verdict: &str, support: f32) {
    if verdict.is_empty() {
        out.push_str("<span>not verified</span>");
    } else {
        w!(out, "<span class=\"badge{}\">{}</span>", verdict_class(verdict), esc(verdict));
        w!(out, "<span>support <b>{}</b></span>", score(support));
    }
}

/// Turns (or paragraphs) one by one: who speaks, what is said, and for verified turns
/// their verdict, support and cited passages.
fn turns(out: &mut String, turns: &[Turn], chunks: &HashMap<String, ChunkView>) {
    out.push_str("<div class=\"turns\">\n");
    // A turn's citations mark the words of the turn before it that asked.
    let mut asked: Vec<(String, String)> = Vec::new();
    for (i, t) in turns.iter().enumerate() {
        let role = t.role.as_str();
        if t.role == quarry_core::Role::User {
            asked = question_terms(&t.content);
        }
        w!(out, "<section class=\"turn r-{role}\">\n<div class=\"turn-head\"><b>{}</b>", esc(&turn_label(t, i)));
        if verified(t) {
            verdict_badge(out, t.verdict.map_or("", Verdict::as_str), t.support);
        }
        if !t.passages.is_empty() {
            w!(out, "<span>{} passage{} shown</span>", t.passages.len(), if t.passages.len() == 1 { "" } else { "s" });
        }
        out.push_str("</div>\n");
        w!(out, "<div class=\"a\">{}</div>\n", esc(&t.content));
        if verified(t) && t.citations.is_empty() {
            out.push_str("<p class=\"note\">No citations.</p>\n");
        }
        for c in &t.citations {
            citation(out, c, chunks.get(&c.chunk_id), &asked);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</div>\n");
}

/// A preference pair: the chosen answer with its evidence beside the rejected answer, how
/// it was made and how the verifier scored it.
fn preference_pair(out: &mut String, r: &Record, chunks: &HashMap<String, ChunkView>) {
    let p = &r.preference;
    out.push_str("<div class=\"pair\">\n<div class=\"side chosen\">\n<div class=\"side-head\"><b>chosen</b>");
    verdict_badge(out, r.verdict.as_str(), r.scores.support);
    out.push_str("</div>\n");
    w!(out, "<div class=\"a\">{}</div>\n", esc(&r.answer));
    if r.citations.is_empty() {
        out.push_str("<p class=\"note\">No citations.</p>\n");
    }
    let terms = question_terms(&r.question);
    for c in &r.citations {
        citation(out, c, chunks.get(&c.chunk_id), &terms);
    }
    out.push_str("</div>\n<div class=\"side rejected\">\n<div class=\"side-head\"><b>rejected</b>");
    verdict_badge(out, p.verdict.map_or("", Verdict::as_str), p.support);
    out.push_str("</div>\n<div class=\"side-head\">");
    if !p.method.is_empty() {
        w!(out, "<span>method <span class=\"tag\">{}</span></span>", esc(&p.method));
    }
    if !p.model.is_empty() {
        w!(out, "<span>model <b>{}</b></span>", esc(&p.model));
    }
    out.push_str("</div>\n");
    if !p.detail.is_empty() {
        w!(out, "<p class=\"mq\">{}</p>\n", esc(&p.detail));
    }
    w!(out, "<div class=\"a\">{}</div>\n</div>\n</div>\n", esc(&p.rejected));
}

/// The stems of a question's content words, with each as written first.
fn question_terms(question: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in quarry_audit::content_tokens(question) {
        if !out.iter().any(|(s, _)| *s == t.stem) {
            out.push((t.stem.clone(), question[t.range.clone()].to_owned()));
        }
    }
    out
}

/// Which of the question's terms the evidence holds (in a cited chunk, its title or headings)
/// and which it never names: a false premise or an off-topic answer shows as struck-out terms.
fn terms_line(out: &mut String, terms: &[(String, String)], cites: &[Citation], chunks: &HashMap<String, ChunkView>) {
    if terms.is_empty() {
        return;
    }
    let mut found: std::collections::HashSet<String> = std::collections::HashSet::new();
    for c in cites {
        let mut texts = vec![c.quote.as_str(), c.doc_title.as_str()];
        texts.extend(c.heading_path.iter().map(String::as_str));
        if let Some(ch) = chunks.get(&c.chunk_id) {
            texts.push(ch.text.as_str());
        }
        for t in texts {
            found.extend(quarry_audit::content_tokens(t).into_iter().map(|w| w.stem));
        }
    }
    out.push_str("<p class=\"terms\">question terms in the evidence: ");
    for (stem, word) in terms {
        if found.contains(stem) {
            w!(out, "<span class=\"qt\">{}</span> ", esc(word));
        } else {
            w!(out, "<span class=\"miss\" title=\"not in the cited passages\">{}</span> ", esc(word));
        }
    }
    out.push_str("</p>\n");
}

/// `text`, escaped, with the words whose stems are question terms marked.
fn with_terms(text: &str, terms: &[(String, String)]) -> String {
    if terms.is_empty() {
        return esc(text).to_string();
    }
    let mut out = String::new();
    let mut at = 0;
    for t in quarry_audit::content_tokens(text) {
        if terms.iter().any(|(s, _)| *s == t.stem) {
            out.push_str(&esc(&text[at..t.range.start]));
            w!(out, "<span class=\"qt\">{}</span>", esc(&text[t.range.clone()]));
            at = t.range.end;
        }
    }
    out.push_str(&esc(&text[at..]));
    out
}

fn citation(out: &mut String, c: &Citation, chunk: Option<&ChunkView>, terms: &[(String, String)]) {
    out.push_str("<section class=\"cite\">\n<div class=\"cite-head\">");
    w!(out, "[{}] <b>{}</b>", c.passage, esc(if c.doc_title.is_empty() { &c.doc_id } else { &c.doc_title }));
    if !c.heading_path.is_empty() {
        w!(out, " › {}", esc(&heading_path_display(&c.heading_path)));
    }
    w!(
        out,
        " · <span class=\"mono\">bytes {}–{}</span> · {} {}</div>\n",
        c.span.start(),
        c.span.end(),
        match_kind(c.match_kind),
        score(c.match_score)
    );
    match place(c, chunk) {
        Placement::InChunk { before, quote, after, by_span } => {
            if !by_span {
                out.push_str(
                    "<p class=\"note\">The span does not fit this chunk; the quote was found by search.</p>\n",
                );
            }
            w!(
                out,
                "<div class=\"chunk\">{}<mark>{}</mark>{}</div>\n",
                with_terms(before, terms),
                with_terms(quote, terms),
                with_terms(after, terms)
            );
        }
        Placement::Apart => {
            let why = if chunk.is_some() { "The quote is not in the chunk text" } else { "The chunk is not available" };
            w!(
                out,
                "<p class=\"note\">{why} (chunk <span class=\"mono\">{}</span>); the quote:</p>\n<div class=\"chunk\"><mark>{}</mark></div>\n",
                esc(&c.chunk_id),
                esc(&c.quote)
            );
        }
    }
    if c.model_quote != c.quote {
        w!(out, "<p class=\"mq\">Model's wording: “{}”</p>\n", esc(&c.model_quote));
    }
    out.push_str("</section>\n");
}

fn reject(out: &mut String, r: &Reject, chunks: &HashMap<String, ChunkView>, run_task: &str) {
    let docs = reject_docs(r, chunks);
    let doc_ids: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
    w!(
        out,
        "<article class=\"reject\" id=\"rej-{}\" data-verdict=\"rejected\" data-task=\"{}\" data-qtype=\"{}\" data-docs=\"{}\">\n",
        esc(&r.id.to_string()),
        esc(run_task),
        esc(&r.question_type),
        esc(&doc_ids.join(" "))
    );
    out.push_str("<div class=\"head\"><span class=\"badge\">rejected</span>");
    w!(out, "<span>stage <b>{}</b></span><span class=\"mono\">{}</span>", esc(&r.stage), esc(&r.reason));
    if !r.question_type.is_empty() {
        w!(out, "<span class=\"tag\">{}</span>", esc(&r.question_type));
    }
    w!(out, "<a class=\"mono\" href=\"#rej-{0}\">{0}</a>", esc(&r.id.to_string()));
    if let Some(v) = r.verdict {
        w!(out, "<span>verdict <b>{}</b></span><span>support <b>{}</b></span>", esc(v.as_str()), score(r.support));
    }
    out.push_str("</div>\n");
    if !r.detail.is_empty() {
        w!(out, "<p class=\"note\">{}</p>\n", esc(&r.detail));
    }
    if !r.question.is_empty() {
        w!(out, "<p class=\"q\">{}</p>\n", esc(&r.question));
    }
    if !r.answer.is_empty() {
        w!(out, "<div class=\"label\">answer</div><div class=\"a\">{}</div>\n", esc(&r.answer));
    }
    if !r.raw.is_empty() {
        w!(out, "<details><summary>Raw model reply</summary><pre>{}</pre></details>\n", esc(&r.raw));
    }
    if !docs.is_empty() {
        let titles: Vec<&str> = docs.iter().map(doc_label).collect();
        w!(out, "<p class=\"mq\">from {}</p>\n", esc(&titles.join(", ")));
    }
    out.push_str("</article>\n");
}

// ---------------------------------------------------------------- generic run.json

/// Renders any JSON value: objects as nested key/value tables, arrays of scalars inline.
fn json_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Object(m) if depth < 8 => {
            if m.is_empty() {
                out.push_str("<span class=\"sub\">{}</span>");
                return;
            }
            out.push_str("<table class=\"kv\">");
            for (k, v) in m {
                w!(out, "<tr><td>{}</td><td>", esc(k));
                json_value(out, v, depth + 1);
                out.push_str("</td></tr>\n");
            }
            out.push_str("</table>");
        }
        Value::Array(a) if depth < 8 && a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let items: Vec<String> = a.iter().map(scalar_text).collect();
            w!(out, "<span class=\"mono\">[{}]</span>", esc(&items.join(", ")));
        }
        Value::Array(a) if depth < 8 => {
            out.push_str("<ol>");
            for x in a {
                out.push_str("<li>");
                json_value(out, x, depth + 1);
                out.push_str("</li>");
            }
            out.push_str("</ol>");
        }
        Value::Object(_) | Value::Array(_) => {
            w!(out, "<code>{}</code>", esc(&v.to_string()));
        }
        _ => w!(out, "<span class=\"mono\">{}</span>", esc(&scalar_text(v))),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------- formatting

fn doc_label(d: &DocRef) -> &str {
    if d.title.is_empty() { &d.doc_id } else { &d.title }
}

pub(crate) fn score(x: f32) -> String {
    if x.is_finite() { format!("{x:.2}") } else { "–".into() }
}

pub(crate) fn match_kind(m: QuoteMatch) -> &'static str {
    match m {
        QuoteMatch::Exact => "exact",
        QuoteMatch::Normalized => "normalized",
        QuoteMatch::Fuzzy => "fuzzy",
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 { format!("{h} h {m:02} min") } else { format!("{m} min {s:02} s") }
}

fn millis(ms: f64) -> String {
    if ms >= 1000.0 { format!("{:.2} s", ms / 1000.0) } else { format!("{ms:.0} ms") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(125.0), "2 min 05 s");
        assert_eq!(duration(3725.0), "1 h 02 min");
        assert_eq!(millis(12.4), "12 ms");
        assert_eq!(score(f32::NAN), "–");
    }

    #[test]
    fn empty_view_renders() {
        let html = render_html(&RunView::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No accepted records."));
        assert_eq!(html.matches("<script").count(), 1);
    }
}
