//! The `quarry` binary: argument parsing, progress and printing. No pipeline
//! logic lives here; every command calls into the library crates.

mod args;
mod commands;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// Exit statuses, as documented in `quarry --help`.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The command ran but found nothing to work with: no input could be
    /// ingested, the chunk id is not in the store, fewer than --n records passed.
    pub const NOTHING: u8 = 1;
    /// An error: bad arguments, unreadable or unwritable files.
    pub const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Ingest(a) => commands::ingest::run(a, cli.quiet),
        Command::Index(a) => commands::index::run(a, cli.quiet),
        Command::Search(a) => commands::search::run(a),
        Command::Eval(c) => commands::eval::run(c, cli.quiet),
        Command::Show(a) => commands::show::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Llm(c) => commands::llm::run(c),
        Command::Cache(c) => commands::llm::cache(c),
        Command::Generate(c) => commands::generate::run(c, cli.quiet),
        Command::Prompts(c) => commands::generate::prompts(c),
        Command::Controls(c) => commands::generate::controls(c),
        Command::Estimate(a) => commands::estimate::run(a),
        Command::Merge(a) => commands::merge::run(a, cli.quiet),
        Command::Review(c) => commands::records::review(c),
        Command::Audit(a) => commands::report::audit(a),
        Command::Report(a) => commands::report::report(a),
        Command::Export(a) => commands::export::export(a),
        Command::Dedup(a) => commands::records::dedup(a),
        Command::Reject(a) => commands::records::reject(a),
        Command::Similar(a) => commands::records::similar(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            let _ = std::io::stdout().flush();
            eprintln!("error: {err:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,qdrant_edge=error",
        1 => "info,qdrant_edge=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUARRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
