//! Verification of quarry's generated answers.
//!
//! Every answer cites spans of the corpus. This crate checks that the citations are real
//! ([`locate_quote`]: exact, normalised or fuzzy match of the model's quote in the cited chunk,
//! mapped back to document bytes) and that the cited text supports the answer ([`support`]:
//! per answer sentence, lexical and optionally semantic, question-aware for short answers).
//! [`verify`] puts both together for the generation stage; [`eval`] measures the support scorer
//! on SQuAD and HotpotQA.
//!
//! Pure functions: no I/O except in [`eval`]'s loaders.

pub mod eval;
mod locate;
mod support;
mod text;
mod verify;

pub use locate::{DEFAULT_MIN_FUZZY, QuoteLocation, locate_quote};
pub use support::{Embed, SupportConfig, SupportResult, support, support_in_context, supporting_sentences};
pub use text::{
    ContentWord, Lang, Word, content_tokens, content_tokens_in, content_words, is_stopword, split_sentences, stem,
    words,
};
pub use verify::{
    ANSWER_ELSEWHERE, CITATION_UNKNOWN_PASSAGE, NO_VALID_CITATION, PARTIAL_SUPPORT, PassageView, QUOTE_NOT_FOUND,
    RawCitation, UNSUPPORTED, Verification, VerifyConfig, verify,
};
