//! One module per generating task. A task is a config, a generator implementing
//! [`crate::SlotTask`] (`work` turns one slot into a record or a reject), a prompt template,
//! and a `quarry_core::Task` variant; the CLI runs every task through the same `run_task`.
//! Topic trees expand breadth first, node by node, and write `tree.json` beside the run.

pub mod controls;
pub mod conversation;
pub mod dpo;
pub mod followup;
pub mod pretrain;
pub mod qa;
pub mod topics;
