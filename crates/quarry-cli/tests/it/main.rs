//! End-to-end tests: the `quarry` binary driven the way a user drives it, on
//! real data (the shared books and Wikipedia dumps beside the clone, and the
//! repo's own fixtures).

mod bad_input;
mod books;
mod browser;
mod chunking;
mod formats;
mod generate;
mod golden;
mod index;
mod languages;
mod rag;
mod replay;
mod resume;
mod review;
mod servers;
mod shards;
mod stub;
mod tasks;
mod util;
mod wikipedia;
