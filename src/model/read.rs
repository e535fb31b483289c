//! Typed reading of a spanned YAML tree, collecting every problem instead of stopping at one.

use crate::diag::{Origin, Problem, Sourced};
use crate::model::yaml::{Node, Value, parse_bool};

/// Collects problems while a file is turned into the model.
#[derive(Default)]
pub struct Reader {
    pub problems: Vec<Problem>,
}

/// The entries of one mapping, checked against the keys it may hold.
pub struct Fields<'a> {
    entries: Vec<(&'a str, &'a Node, &'a Node)>,
}

impl<'a> Fields<'a> {
    /// The value of `key`, or `None` if absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
            .filter(|v| !v.is_null())
    }

    /// Whether `key` is written at all, even as null.
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _, _)| *k == key)
    }

    /// The key node of `key`, for pointing at it.
    pub fn key_node(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, _)| *k)
    }
}

/// Returns the known key closest to `unknown`, if any is close enough to be a likely typo.
pub fn did_you_mean<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = unknown.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&lower, &k.to_lowercase()), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl Reader {
    pub fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    pub fn type_error(&mut self, node: &Node, what: &str, expected: &str, example: &str) {
        self.push(
            Problem::error(
                "slogate::wrong-type",
                &node.origin,
                format!("`{what}` must be {expected}, found {}", node.kind_name()),
            )
            .label(format!("expected {expected}"))
            .help(format!("write it like this: {example}")),
        );
    }

    /// Reads a mapping whose keys must be among `known`; reports the others with a suggestion.
    pub fn fields<'a>(
        &mut self,
        node: &'a Node,
        what: &str,
        known: &[&str],
        example: &str,
    ) -> Option<Fields<'a>> {
        let Some(map) = node.as_map() else {
            self.type_error(node, what, "a mapping", example);
            return None;
        };
        let mut entries = Vec::new();
        for (k, v) in map {
            let Some(name) = k.as_scalar() else {
                self.push(
                    Problem::error(
                        "slogate::wrong-type",
                        &k.origin,
                        format!("keys of `{what}` must be plain names"),
                    )
                    .label("not a name")
                    .help(format!("valid keys here are: {}", known.join(", "))),
                );
                continue;
            };
            if !known.contains(&name) {
                // Keptn ignored unknown keys, so the file still evaluates without them. A near
                // miss of a known key is most likely a typo that changes the score (`weigth`):
                // an error; any other key (`fail:`) is only a warning. `keptn_reading` turns
                // the errors into warnings where a file must evaluate as Keptn did.
                let message = format!("unknown key `{name}` in {what}");
                self.push(match did_you_mean(name, known) {
                    Some(s) => Problem::error("slogate::unknown-key", &k.origin, message)
                        .label("not a key slogate or Keptn knows")
                        .help(format!("did you mean `{s}`?")),
                    None => Problem::warning("slogate::unknown-key", &k.origin, message)
                        .label("not a key slogate or Keptn knows")
                        .help(format!("valid keys here are: {}", known.join(", "))),
                });
                continue;
            }
            entries.push((name, k, v));
        }
        Some(Fields { entries })
    }

    /// A string: any non-null scalar (numbers are taken as written, as Keptn's Go reader did).
    pub fn string(&mut self, node: &Node, what: &str, example: &str) -> Option<Sourced<String>> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => {
                Some(Sourced::new(text.clone(), node.origin.clone()))
            }
            _ => {
                self.type_error(node, what, "a string", example);
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<Sourced<bool>> {
        match node.as_scalar().and_then(parse_bool) {
            Some(b) => Some(Sourced::new(b, node.origin.clone())),
            None => {
                self.type_error(node, what, "true or false", &format!("`{what}: true`"));
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node, what: &str, example: &str) -> Option<Sourced<i64>> {
        match &node.value {
            Value::Scalar { text, plain: true } => match text.parse::<i64>() {
                Ok(i) => Some(Sourced::new(i, node.origin.clone())),
                Err(_) => {
                    self.type_error(node, what, "a whole number", example);
                    None
                }
            },
            _ => {
                self.type_error(node, what, "a whole number", example);
                None
            }
        }
    }

    /// A list; a null list is empty. Items that are null are kept out.
    pub fn list<'a>(&mut self, node: &'a Node, what: &str, example: &str) -> Vec<&'a Node> {
        if node.is_null() {
            return Vec::new();
        }
        match node.as_seq() {
            Some(items) => items.iter().collect(),
            None => {
                self.type_error(node, what, "a list", example);
                Vec::new()
            }
        }
    }
}

/// An origin covering a key and its value, for problems about a whole entry.
pub fn entry_origin(key: &Node, value: &Node) -> Origin {
    let start = key.origin.span.start.min(value.origin.span.start);
    let end = key.origin.span.end.max(value.origin.span.end);
    Origin::new(&key.origin.file, start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let known = ["sli", "displayName", "key_sli", "weight", "pass", "warning"];
        assert_eq!(did_you_mean("weigth", &known), Some("weight"));
        assert_eq!(did_you_mean("display_name", &known), Some("displayName"));
        assert_eq!(did_you_mean("keysli", &known), Some("key_sli"));
        assert_eq!(did_you_mean("zzzzzz", &known), None);
    }
}
