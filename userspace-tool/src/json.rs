// SPDX-License-Identifier: GPL-2.0

//! Minimal JSON output: a value tree that keeps object keys in insertion
//! order, serialised compactly on one line (RFC 8259 string escaping).

use std::fmt::{self, Write as _};

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    Str(String),
    Array(Vec<Json>),
    /// Keys in output order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An empty object.
    pub fn object() -> Self {
        Json::Object(Vec::new())
    }

    /// Appends `key: value` to an object (no-op on other values).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Json>) -> &mut Self {
        if let Json::Object(fields) = self {
            fields.push((key.into(), value.into()));
        }
        self
    }
}

impl From<u64> for Json {
    fn from(v: u64) -> Self {
        Json::U64(v)
    }
}

impl From<u32> for Json {
    fn from(v: u32) -> Self {
        Json::U64(v.into())
    }
}

impl From<i64> for Json {
    fn from(v: i64) -> Self {
        Json::I64(v)
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Self {
        Json::Bool(v)
    }
}

impl From<&str> for Json {
    fn from(v: &str) -> Self {
        Json::Str(v.to_string())
    }
}

impl From<String> for Json {
    fn from(v: String) -> Self {
        Json::Str(v)
    }
}

impl From<Vec<Json>> for Json {
    fn from(v: Vec<Json>) -> Self {
        Json::Array(v)
    }
}

/// Writes `s` as a quoted JSON string.
pub fn write_str(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{08}' => out.write_str("\\b")?,
            '\u{0c}' => out.write_str("\\f")?,
            // Other controls, plus U+2028/U+2029 for JavaScript consumers.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                write!(out, "\\u{:04x}", c as u32)?
            }
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::U64(n) => write!(f, "{n}"),
            Json::I64(n) => write!(f, "{n}"),
            Json::Str(s) => write_str(f, s),
            Json::Array(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Json::Object(fields) => {
                f.write_char('{')?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_str(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_char('}')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        Json::from(v).to_string()
    }

    #[test]
    fn string_escaping() {
        assert_eq!(s("plain"), r#""plain""#);
        assert_eq!(s(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(s("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(s("\u{0}\u{1f}\u{08}\u{0c}"), r#""\u0000\u001f\b\f""#);
        assert_eq!(s("é ✓ \u{2028}"), "\"é ✓ \\u2028\"");
        assert_eq!(s("/"), r#""/""#);
    }

    #[test]
    fn values() {
        let mut counters = Json::object();
        counters
            .insert("pre_routing_pkts", 3u64)
            .insert("max", u64::MAX);
        let mut top = Json::object();
        top.insert("version", "0.1.0")
            .insert("counters", counters)
            .insert("list", vec![Json::Null, true.into(), Json::I64(-1)])
            .insert("empty", Json::object());
        assert_eq!(
            top.to_string(),
            r#"{"version":"0.1.0","counters":{"pre_routing_pkts":3,"max":18446744073709551615},"list":[null,true,-1],"empty":{}}"#
        );
    }

    #[test]
    fn insert_on_non_object_is_ignored() {
        let mut v = Json::Null;
        v.insert("k", 1u64);
        assert_eq!(v, Json::Null);
    }
}
