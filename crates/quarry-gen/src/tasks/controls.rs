//! The five controls that steer a conversation, sampled per dialogue from weighted lists.
//!
//! The lists are a TOML file (the built-in one is `crates/quarry-gen/controls.toml`;
//! `quarry controls dump` writes it out to edit). Each control can also be fixed for a whole
//! run. Draws are deterministic for a run seed and slot.

use std::collections::BTreeMap;
use std::path::Path;

use quarry_core::Controls;
use serde::Deserialize;

use crate::GenError;
use crate::seeds::mix;

/// The built-in control lists.
pub const DEFAULT_CONTROLS: &str = include_str!("../../controls.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    dynamics: BTreeMap<String, u32>,
    emotion: BTreeMap<String, u32>,
    structure: BTreeMap<String, u32>,
    scenario: BTreeMap<String, u32>,
    knowledge_level: BTreeMap<String, u32>,
}

/// Weighted lists of values, one per control.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlLists {
    pub dynamics: Vec<(String, u32)>,
    pub emotion: Vec<(String, u32)>,
    pub structure: Vec<(String, u32)>,
    pub scenario: Vec<(String, u32)>,
    pub knowledge_level: Vec<(String, u32)>,
    /// BLAKE3 of the file's text (16 hex), recorded in run.json.
    pub hash: String,
}

impl ControlLists {
    /// The built-in lists, or the file at `path`.
    pub fn load(path: Option<&Path>) -> Result<ControlLists, GenError> {
        match path {
            None => Self::parse(DEFAULT_CONTROLS, "built-in controls"),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| GenError::io(p, e))?;
                Self::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses a controls file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ControlLists, GenError> {
        let f: File = toml::from_str(text).map_err(|e| GenError::Config(format!("{origin}: {e}")))?;
        let list = |name: &str, m: BTreeMap<String, u32>| -> Result<Vec<(String, u32)>, GenError> {
            let v: Vec<(String, u32)> = m.into_iter().filter(|(k, _)| !k.trim().is_empty()).collect();
            if v.iter().all(|(_, w)| *w == 0) {
                return Err(GenError::Config(format!(
                    "{origin}: [{name}] needs at least one value with a weight above 0"
                )));
            }
            Ok(v)
        };
        let dynamics = list("dynamics", f.dynamics)?;
        if let Some((bad, _)) = dynamics.iter().find(|(d, _)| d.split_once(" and ").is_none()) {
            return Err(GenError::Config(format!(
                "{origin}: [dynamics] \"{bad}\" must name two people as \"<expert> and <learner>\""
            )));
        }
        Ok(ControlLists {
            dynamics,
            emotion: list("emotion", f.emotion)?,
            structure: list("structure", f.structure)?,
            scenario: list("scenario", f.scenario)?,
            knowledge_level: list("knowledge_level", f.knowledge_level)?,
            hash: blake3::hash(text.as_bytes()).to_hex()[..16].to_owned(),
        })
    }

    /// The controls of `slot`: each drawn by weight, unless `fixed` sets it.
    pub fn sample(&self, seed: u64, slot: u64, fixed: &Controls) -> Controls {
        let pick = |list: &[(String, u32)], which: u64, fixed: &str| -> String {
            if !fixed.is_empty() {
                return fixed.to_owned();
            }
            let total: u64 = list.iter().map(|(_, w)| *w as u64).sum();
            let mut r = mix(seed, &[slot, 20 + which]) % total.max(1);
            for (v, w) in list {
                if r < *w as u64 {
                    return v.clone();
                }
                r -= *w as u64;
            }
            list[0].0.clone()
        };
        Controls {
            dynamics: pick(&self.dynamics, 0, &fixed.dynamics),
            emotion: pick(&self.emotion, 1, &fixed.emotion),
            structure: pick(&self.structure, 2, &fixed.structure),
            scenario: pick(&self.scenario, 3, &fixed.scenario),
            knowledge_level: pick(&self.knowledge_level, 4, &fixed.knowledge_level),
        }
    }
}

/// The two people of a dynamics value: (expert, learner). "teacher and student" gives
/// ("teacher", "student"); a value without " and " is the expert facing a "listener".
pub fn parties(dynamics: &str) -> (String, String) {
    match dynamics.split_once(" and ") {
        Some((a, b)) => (a.trim().to_owned(), b.trim().to_owned()),
        None => (dynamics.trim().to_owned(), "listener".to_owned()),
    }
}

/// Writes the built-in controls to `path` (refusing to overwrite a file).
pub fn dump(path: &Path) -> Result<(), GenError> {
    if path.exists() {
        return Err(GenError::Config(format!("{} exists; not overwriting it", path.display())));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| GenError::io(parent, e))?;
    }
    std::fs::write(path, DEFAULT_CONTROLS).map_err(|e| GenError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_sample_deterministically_and_respect_fixed_values() {
        let c = ControlLists::load(None).unwrap();
        assert!(c.dynamics.len() >= 3 && c.structure.iter().any(|(s, _)| s.contains("Socratic")));
        let a = c.sample(7, 3, &Controls::default());
        assert_eq!(a, c.sample(7, 3, &Controls::default()));
        assert!(!a.dynamics.is_empty() && !a.knowledge_level.is_empty());
        let fixed = Controls { structure: "debate".into(), ..Controls::default() };
        assert!((0..20).all(|s| c.sample(7, s, &fixed).structure == "debate"));
        // Over many slots, more than one value of each list is drawn.
        let drawn: std::collections::HashSet<String> =
            (0..50).map(|s| c.sample(1, s, &Controls::default()).emotion).collect();
        assert!(drawn.len() > 1);
        assert_eq!(parties("teacher and student"), ("teacher".into(), "student".into()));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let e = ControlLists::parse("[dynamics]\nteacher = 1\n", "c.toml").unwrap_err().to_string();
        assert!(e.contains("c.toml"), "{e}");
        let text = DEFAULT_CONTROLS.replace("\"teacher and student\" = 3", "\"teacher\" = 3");
        let e = ControlLists::parse(&text, "c.toml").unwrap_err().to_string();
        assert!(e.contains("<expert> and <learner>"), "{e}");
        let e = ControlLists::parse(&format!("{DEFAULT_CONTROLS}\n[mood]\nx = 1\n"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("mood"), "{e}");
    }
}
