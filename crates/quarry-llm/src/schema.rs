//! JSON-schema checks of structured replies.

use serde_json::Value;

/// Parses a model's reply as JSON: the whole text, or the first fenced or
/// brace-delimited object in it (small models wrap JSON in prose or fences).
pub fn parse_json(text: &str) -> Result<Value, String> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Ok(v);
    }
    let unfenced = t.trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    if let Ok(v) = serde_json::from_str(unfenced) {
        return Ok(v);
    }
    if let (Some(a), Some(b)) = (t.find('{'), t.rfind('}'))
        && a < b
        && let Ok(v) = serde_json::from_str(&t[a..=b])
    {
        return Ok(v);
    }
    Err("the reply is not JSON".into())
}

/// Validates `value` against `schema`; the error lists what is wrong.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("the schema itself is invalid: {e}"))?;
    let errors: Vec<String> =
        validator.iter_errors(value).take(5).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
}

/// Parses and validates a reply.
pub fn check(schema: &Value, text: &str) -> Result<Value, String> {
    let v = parse_json(text)?;
    validate(schema, &v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_and_validates() {
        let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
        assert_eq!(check(&schema, "```json\n{\"answer\": \"Paris\"}\n```").unwrap()["answer"], "Paris");
        assert_eq!(check(&schema, "Sure! {\"answer\": \"x\"} done").unwrap()["answer"], "x");
        assert!(check(&schema, "{\"answer\": 3}").unwrap_err().contains("answer"));
        assert!(check(&schema, "no json").is_err());
    }
}
