//! An API key that never shows itself.

use std::fmt;

/// A secret: `Debug` and `Display` print `***`, and it is not serialisable,
/// so it cannot reach a log, a cache entry or an output file by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; empty strings mean no key.
    pub fn new(key: impl Into<String>) -> Option<ApiKey> {
        let key = key.into();
        if key.trim().is_empty() { None } else { Some(ApiKey(key)) }
    }

    /// The first key found in these environment variables.
    pub fn from_env(vars: &[&str]) -> Option<ApiKey> {
        vars.iter().find_map(|v| std::env::var(v).ok().and_then(ApiKey::new))
    }

    /// The secret itself, for the Authorization header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let k = ApiKey::new("sk-secret-123").unwrap();
        assert_eq!(format!("{k}"), "***");
        assert!(!format!("{k:?}").contains("secret"));
        assert!(ApiKey::new("  ").is_none());
    }
}
