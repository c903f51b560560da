//! The shape of a record by its task (record schema v2), shared by the HTML report, the
//! terminal view and the exports so that all three read a record the same way.

use quarry_core::{Record, Role, Task, Turn};

/// How a record is laid out, by its `task` (and, for tasks this crate does not know, by
/// which fields are filled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A question and its answer (`qa`, and v1 records, whose task is empty).
    Qa,
    /// Alternating `user` / `assistant` turns (`followup`, `conversation`); `question` and
    /// `answer` repeat the first exchange.
    Dialogue,
    /// A passage (`pretrain`): `question` is the topic, `answer` the whole passage and
    /// `turns` its paragraphs (role `text`).
    Passage,
    /// A preference pair (`dpo`): `answer` is the chosen side, `preference` the rejected one.
    Preference,
    /// A node of a topic tree (`topic`): `question` is its name, `topic_path` the path to it.
    Topic,
}

/// The record's task name.
pub(crate) fn task_name(r: &Record) -> &'static str {
    r.task.as_str()
}

/// The record's shape.
pub(crate) fn shape(r: &Record) -> Shape {
    match r.task {
        Task::Dpo => Shape::Preference,
        Task::Topic => Shape::Topic,
        Task::Pretrain => Shape::Passage,
        Task::Qa | Task::Followup | Task::Conversation => {
            if is_dialogue(&r.turns) {
                Shape::Dialogue
            } else if !r.preference.rejected.is_empty() {
                Shape::Preference
            } else {
                Shape::Qa
            }
        }
    }
}

/// Whether `turns` is a dialogue: at least one turn, each a `user` or `assistant` turn.
fn is_dialogue(turns: &[Turn]) -> bool {
    !turns.is_empty() && turns.iter().all(|t| matches!(t.role, Role::User | Role::Assistant))
}

/// Whether the task measures the question's round trip (retrieving with it finds its seed):
/// Q&A and what is built on it (follow-ups, preference pairs); conversations, passages and
/// topic nodes have no single question to retrieve with.
pub(crate) fn has_round_trip(r: &Record) -> bool {
    match r.task {
        Task::Qa | Task::Followup | Task::Dpo => true,
        Task::Conversation | Task::Pretrain | Task::Topic => false,
    }
}

/// The question type when it says more than the task (generators of some tasks set it to
/// the task's name).
pub(crate) fn question_type(r: &Record) -> Option<&str> {
    Some(r.question_type.as_str()).filter(|t| !t.is_empty() && *t != task_name(r))
}

/// Whether any turn carries citations of its own (then the record's `citations`, their
/// union, need not be shown again).
pub(crate) fn turns_cite(r: &Record) -> bool {
    r.turns.iter().any(|t| !t.citations.is_empty())
}

/// Whether the turn was verified (assistant turns and paragraphs; user turns are not).
pub(crate) fn verified(t: &Turn) -> bool {
    t.verdict.is_some()
}

/// The label of the `i`-th (0-based) turn: its speaker, else `paragraph N` for a
/// paragraph, else its role.
pub(crate) fn turn_label(t: &Turn, i: usize) -> String {
    if !t.speaker.is_empty() {
        t.speaker.clone()
    } else if t.role == Role::Text {
        format!("paragraph {}", i + 1)
    } else {
        t.role.as_str().to_owned()
    }
}

/// The controls that are set, as `(name, value)` pairs in their declared order.
pub(crate) fn controls(r: &Record) -> Vec<(&'static str, &str)> {
    let c = &r.controls;
    [
        ("dynamics", c.dynamics.as_str()),
        ("emotion", c.emotion.as_str()),
        ("structure", c.structure.as_str()),
        ("scenario", c.scenario.as_str()),
        ("knowledge level", c.knowledge_level.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: Role, speaker: &str) -> Turn {
        Turn { role, speaker: speaker.into(), support: -1.0, ..Turn::default() }
    }

    #[test]
    fn shapes_follow_the_task_then_the_data() {
        let mut r = Record::default();
        assert_eq!((task_name(&r), shape(&r)), ("qa", Shape::Qa));
        r.turns = vec![turn(Role::User, "student"), turn(Role::Assistant, "teacher")];
        assert_eq!(shape(&r), Shape::Dialogue);
        r.task = Task::Conversation;
        assert_eq!(shape(&r), Shape::Dialogue);
        r.task = Task::Pretrain;
        assert_eq!(shape(&r), Shape::Passage);
        r.task = Task::Topic;
        assert_eq!(shape(&r), Shape::Topic);
        r.task = Task::Dpo;
        assert_eq!(shape(&r), Shape::Preference);
        // Q&A-like tasks: by the data.
        r.task = Task::Qa;
        r.turns = vec![turn(Role::Text, "")];
        assert_eq!(shape(&r), Shape::Qa);
        r.preference.rejected = "no".into();
        assert_eq!(shape(&r), Shape::Preference);
    }

    #[test]
    fn labels() {
        assert_eq!(turn_label(&turn(Role::User, "student"), 0), "student");
        assert_eq!(turn_label(&turn(Role::Text, ""), 2), "paragraph 3");
        assert_eq!(turn_label(&turn(Role::Assistant, ""), 1), "assistant");
    }
}
