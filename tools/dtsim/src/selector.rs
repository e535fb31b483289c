//! The `name(arg,…),name(…)` syntax shared by entity, event, problem, SLO and security-problem
//! selectors, and the splitting helpers used by the metric selector parser.

/// One criterion: `entityName.equals("x")` → name `entityName.equals`, args `["x"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    pub name: String,
    pub args: Vec<String>,
    /// The text between the parentheses, unchanged.
    pub raw: String,
}

/// Splits on `sep` at depth 0, outside double quotes (with `~` escapes inside quotes).
pub fn split_top(s: &str, sep: char) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth: i32 = 0;
    let mut in_q = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if in_q {
            cur.push(c);
            if c == '~' {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            } else if c == '"' {
                in_q = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_q = true;
                cur.push(c);
            }
            '(' | '{' | '[' => {
                depth += 1;
                cur.push(c);
            }
            ')' | '}' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced '{c}'"));
                }
                cur.push(c);
            }
            c if c == sep && depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if in_q {
        return Err("unterminated quote".into());
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    out.push(cur);
    Ok(out)
}

/// Removes surrounding quotes and `~` escapes; unquoted values are trimmed.
pub fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let inner = &t[1..t.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '~' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        t.to_string()
    }
}

/// Splits `name(args)`; `name` alone gives no args and `raw` empty. Returns `None` when
/// the text is not of that form.
pub fn call(s: &str) -> Option<(String, Option<String>)> {
    let t = s.trim();
    match t.find('(') {
        None => {
            if t.is_empty() || t.contains(')') || t.contains('"') {
                None
            } else {
                Some((t.to_string(), None))
            }
        }
        Some(i) => {
            if !t.ends_with(')') {
                return None;
            }
            let name = t[..i].trim();
            if name.is_empty() {
                return None;
            }
            let inner = &t[i + 1..t.len() - 1];
            // The opening parenthesis must match the final one.
            split_top(inner, ',').ok()?;
            Some((name.to_string(), Some(inner.to_string())))
        }
    }
}

/// Splits an argument list and unquotes each; `""` (no args) gives an empty list.
pub fn args(inner: &str) -> Result<Vec<String>, String> {
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(split_top(inner, ',')?.iter().map(|a| unquote(a)).collect())
}

/// Parses a whole selector into criteria (commas mean AND).
pub fn parse(s: &str) -> Result<Vec<Criterion>, String> {
    let mut out = Vec::new();
    for part in split_top(s, ',')? {
        let part = part.trim();
        if part.is_empty() {
            return Err("empty criterion".into());
        }
        let (name, inner) = call(part).ok_or_else(|| format!("cannot parse '{part}'"))?;
        let inner = inner.ok_or_else(|| format!("'{name}' needs a value in parentheses"))?;
        out.push(Criterion {
            args: args(&inner)?,
            name,
            raw: inner,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_criteria() {
        let c =
            parse(r#"type(SERVICE),tag("app:x"),entityName.equals("a, b"),entityId("S-1","S-2")"#)
                .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].args, vec!["SERVICE"]);
        assert_eq!(c[1].args, vec!["app:x"]);
        assert_eq!(c[2].name, "entityName.equals");
        assert_eq!(c[2].args, vec!["a, b"]);
        assert_eq!(c[3].args, vec!["S-1", "S-2"]);
        assert!(parse("type(SERVICE").is_err());
        assert!(parse("type").is_err());
        assert_eq!(unquote(r#""a~"b~~""#), r#"a"b~"#);
    }

    #[test]
    fn splits_metric_lists() {
        let v = split_top(r#"a:filter(eq("k","x,y")),(b):fold,c"#, ',').unwrap();
        assert_eq!(v, vec![r#"a:filter(eq("k","x,y"))"#, "(b):fold", "c"]);
    }
}
