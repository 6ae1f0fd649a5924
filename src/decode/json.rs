//! Small helpers for the JSON-based formats: dotted-path lookup and flattening of nested
//! objects into `original` fields.

use serde_json::Value as J;

/// Look up a dotted path (`flow.IP.source`) in nested objects.
pub fn get<'a>(v: &'a J, path: &str) -> Option<&'a J> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

/// A string at a dotted path.
pub fn str_at<'a>(v: &'a J, path: &str) -> Option<&'a str> {
    get(v, path).and_then(J::as_str)
}

/// A scalar at a dotted path rendered as text (numbers and booleans formatted).
pub fn text_at(v: &J, path: &str) -> Option<String> {
    get(v, path).and_then(crate::event::json_scalar_string)
}

/// An integer at a dotted path, from a JSON number or a numeric string.
pub fn int_at(v: &J, path: &str) -> Option<i64> {
    match get(v, path)? {
        J::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        J::String(s) => crate::event::parse_int(s),
        _ => None,
    }
}

/// Flatten `v` into `(dotted name, scalar or array)` pairs appended to `out`.
/// Objects nest with dots; arrays and scalars are kept whole.
pub fn flatten(v: J, prefix: &str, out: &mut Vec<(String, J)>) {
    match v {
        J::Object(map) => {
            for (k, child) in map {
                let name = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(child, &name, out);
            }
        }
        other => out.push((prefix.to_string(), other)),
    }
}

/// Parse one JSON object record, with the offset in the error.
pub fn parse_object(record: &str, offset: u64) -> Result<J, super::DecodeError> {
    let v: J = serde_json::from_str(record)
        .map_err(|e| super::DecodeError::malformed(offset, format!("invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err(super::DecodeError::malformed(
            offset,
            "expected a JSON object",
        ));
    }
    Ok(v)
}

/// Quick check used by detection: does the first JSON document in `head` contain `key` as
/// an object key? Works on a prefix of the input (no full parse needed).
pub fn head_has_key(head: &[u8], key: &str) -> bool {
    let needle = format!("\"{key}\"");
    memchr::memmem::find(head, needle.as_bytes()).is_some_and(|pos| {
        head[pos + needle.len()..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            == Some(&b':')
    })
}

/// Whether `head` starts (after whitespace) with a JSON object.
pub fn head_is_json_object(head: &[u8]) -> bool {
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_and_lookup() {
        let v: J = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        assert_eq!(int_at(&v, "a.b"), Some(1));
        assert_eq!(str_at(&v, "d"), Some("x"));
        let mut out = Vec::new();
        flatten(v, "", &mut out);
        let names: Vec<_> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a.b", "a.c", "d"]);
    }

    #[test]
    fn head_key_detection() {
        assert!(head_has_key(br#"{"flow" : {"x":1}}"#, "flow"));
        assert!(!head_has_key(br#"{"x":"flow"}"#, "flow"));
    }
}
