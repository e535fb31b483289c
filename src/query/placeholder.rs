//! Placeholder substitution in SLI queries, in Keptn's order (reference §4).
//!
//! Keptn used plain replace-all, one placeholder after the other, with no escaping and no word
//! boundaries. That is reproduced on purpose: `$SERVICE_NAME` becomes `<service>_NAME`, and a value
//! inserted early can itself be rewritten by a later step. Only `$ENV.` differs: Keptn walked the
//! whole process environment, here each `$ENV.<NAME>` in the text is looked up in `vars.env`
//! (passed in, never read here), and names that are missing are reported instead of silently
//! staying in the query.

use super::Vars;

/// The substituted text, and the `$ENV.` names that had no value (in order of first
/// appearance, each once). The caller fails the indicator when that list is not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    pub unresolved_env: Vec<String>,
}

/// Replaces the placeholders of `text`:
/// 1. each filter `(key, value)`, in order: `$key`, then `$KEY`, by the value without `'` and `"`;
/// 2. `$CONTEXT $EVENT $SOURCE $PROJECT $STAGE $SERVICE $DEPLOYMENT $TESTSTRATEGY` (`$EVENT`,
///    `$SOURCE` and `$TESTSTRATEGY` are always empty for get-sli);
/// 3. `$LABEL.<k>` for each label, in key order;
/// 4. `$ENV.<NAME>` (`NAME` = `[A-Za-z_][A-Za-z0-9_]*`, longest match) from `vars.env`.
pub fn substitute(text: &str, vars: &Vars) -> Substituted {
    let mut s = text.to_string();

    for (key, value) in &vars.filters {
        let value = value.replace(['\'', '"'], "");
        s = s.replace(&format!("${key}"), &value);
        s = s.replace(&format!("${}", go_to_upper(key)), &value);
    }

    let keptn: [(&str, &str); 8] = [
        ("$CONTEXT", &vars.context),
        ("$EVENT", ""),
        ("$SOURCE", ""),
        ("$PROJECT", &vars.project),
        ("$STAGE", &vars.stage),
        ("$SERVICE", &vars.service),
        ("$DEPLOYMENT", &vars.deployment),
        ("$TESTSTRATEGY", ""),
    ];
    for (placeholder, value) in keptn {
        s = s.replace(placeholder, value);
    }

    for (key, value) in &vars.labels {
        s = s.replace(&format!("$LABEL.{key}"), value);
    }

    substitute_env(&s, vars)
}

/// Go's `strings.ToUpper` maps each rune on its own (simple case mapping): `ß` stays `ß`, where
/// Rust's `to_uppercase` would give `SS`. A char whose full mapping is not one char is kept.
fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

const ENV_PREFIX: &str = "$ENV.";

/// One left-to-right pass, so a value containing `$ENV.X` is not expanded again.
fn substitute_env(s: &str, vars: &Vars) -> Substituted {
    let mut text = String::with_capacity(s.len());
    let mut unresolved_env: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find(ENV_PREFIX) {
        text.push_str(&rest[..at]);
        let after = &rest[at + ENV_PREFIX.len()..];
        let len = env_name_len(after);
        if len == 0 {
            // `$ENV.` followed by no name: nothing to look up, keep it.
            text.push_str(ENV_PREFIX);
            rest = after;
            continue;
        }
        let name = &after[..len];
        match vars.env.get(name) {
            Some(value) => text.push_str(value),
            None => {
                text.push_str(ENV_PREFIX);
                text.push_str(name);
                if !unresolved_env.iter().any(|n| n == name) {
                    unresolved_env.push(name.to_string());
                }
            }
        }
        rest = &after[len..];
    }
    text.push_str(rest);
    Substituted {
        text,
        unresolved_env,
    }
}

/// Byte length of the environment variable name at the start of `s` (ASCII only, so byte
/// indices are char boundaries).
fn env_name_len(s: &str) -> usize {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            1 + b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn vars() -> Vars {
        Vars {
            project: "sockshop".into(),
            stage: "staging".into(),
            service: "carts".into(),
            deployment: "primary".into(),
            context: "ctx-1".into(),
            labels: BTreeMap::new(),
            env: Default::default(),
            filters: Vec::new(),
        }
    }

    fn sub(text: &str, v: &Vars) -> String {
        substitute(text, v).text
    }

    #[test]
    fn keptn_placeholders() {
        let v = vars();
        assert_eq!(
            sub(
                "tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE),tag(keptn_deployment:$DEPLOYMENT)",
                &v
            ),
            "tag(keptn_project:sockshop),tag(keptn_stage:staging),tag(keptn_service:carts),tag(keptn_deployment:primary)"
        );
        assert_eq!(sub("$CONTEXT|$EVENT|$SOURCE|$TESTSTRATEGY", &v), "ctx-1|||");
        assert_eq!(sub("$PROJECT$PROJECT", &v), "sockshopsockshop");
    }

    #[test]
    fn empty_deployment_leaves_an_empty_tag_value() {
        let mut v = vars();
        v.deployment.clear();
        assert_eq!(
            sub("tag(keptn_deployment:$DEPLOYMENT)", &v),
            "tag(keptn_deployment:)"
        );
    }

    #[test]
    fn prefix_matches_like_keptn() {
        let v = vars();
        assert_eq!(sub("$SERVICE_NAME", &v), "carts_NAME");
        assert_eq!(sub("$STAGES", &v), "stagingS");
        // `$EVENT` is empty; `$EVENTS` keeps only the `S`.
        assert_eq!(sub("$EVENTS", &v), "S");
        // Lower case is not a Keptn placeholder.
        assert_eq!(sub("$service", &v), "$service");
    }

    #[test]
    fn unknown_placeholders_stay() {
        let v = vars();
        assert_eq!(sub("$FOO and $ and $$", &v), "$FOO and $ and $$");
    }

    #[test]
    fn filters_come_first_in_both_cases_without_quotes() {
        let mut v = vars();
        v.filters = vec![
            ("handler".into(), "'ItemsController'".into()),
            ("service".into(), "\"override\"".into()),
        ];
        assert_eq!(
            sub("$handler/$HANDLER", &v),
            "ItemsController/ItemsController"
        );
        // The filter `service` replaces `$SERVICE` before the Keptn step sees it.
        assert_eq!(sub("$SERVICE", &v), "override");
    }

    #[test]
    fn filters_apply_in_file_order() {
        let mut v = vars();
        v.filters = vec![("a".into(), "$b".into()), ("b".into(), "x".into())];
        // `$a` becomes `$b`, which the next filter rewrites: plain sequential replace.
        assert_eq!(sub("$a", &v), "x");
        v.filters.reverse();
        assert_eq!(sub("$a", &v), "$b");
    }

    #[test]
    fn labels_after_keptn_values_in_key_order() {
        let mut v = vars();
        v.labels.insert("dashboard".into(), "D".into());
        v.labels.insert("dashboard_name".into(), "N".into());
        // `dashboard` sorts first and eats the prefix of `dashboard_name` (Keptn #696).
        assert_eq!(sub("$LABEL.dashboard_name", &v), "D_name");
        assert_eq!(sub("$LABEL.missing", &v), "$LABEL.missing");

        let mut v = vars();
        v.labels.insert("DtCreds".into(), "$SERVICE".into());
        // A label value is inserted after the Keptn step, so its `$SERVICE` survives.
        assert_eq!(sub("$LABEL.DtCreds", &v), "$SERVICE");
    }

    #[test]
    fn a_filter_value_can_be_rewritten_by_later_steps() {
        let mut v = vars();
        v.filters = vec![("x".into(), "$PROJECT".into())];
        assert_eq!(sub("$x", &v), "sockshop");
    }

    #[test]
    fn env_values_and_unresolved_names() {
        let mut v = vars();
        std::sync::Arc::make_mut(&mut v.env).insert("TENANT".into(), "abc123".into());
        std::sync::Arc::make_mut(&mut v.env).insert("TENANT_ID".into(), "zzz".into());
        let s = substitute(
            "$ENV.TENANT/$ENV.TENANT_ID/$ENV.MISSING/$ENV.MISSING/$ENV.OTHER",
            &v,
        );
        assert_eq!(s.text, "abc123/zzz/$ENV.MISSING/$ENV.MISSING/$ENV.OTHER");
        assert_eq!(
            s.unresolved_env,
            vec!["MISSING".to_string(), "OTHER".to_string()]
        );
    }

    #[test]
    fn env_name_is_the_longest_identifier() {
        let mut v = vars();
        std::sync::Arc::make_mut(&mut v.env).insert("A".into(), "1".into());
        let s = substitute("$ENV.A_B $ENV.A-B $ENV.A.B", &v);
        assert_eq!(s.text, "$ENV.A_B 1-B 1.B");
        assert_eq!(s.unresolved_env, vec!["A_B".to_string()]);
    }

    #[test]
    fn env_values_are_not_expanded_again() {
        let mut v = vars();
        std::sync::Arc::make_mut(&mut v.env).insert("A".into(), "$ENV.B".into());
        std::sync::Arc::make_mut(&mut v.env).insert("B".into(), "b".into());
        let s = substitute("$ENV.A", &v);
        assert_eq!(s.text, "$ENV.B");
        assert!(s.unresolved_env.is_empty());
    }

    #[test]
    fn env_without_a_name_is_kept_and_not_reported() {
        let v = vars();
        let s = substitute("$ENV. $ENV.1 $ENV.", &v);
        assert_eq!(s.text, "$ENV. $ENV.1 $ENV.");
        assert!(s.unresolved_env.is_empty());
    }

    #[test]
    fn env_comes_from_labels_too() {
        let mut v = vars();
        v.labels.insert("x".into(), "$ENV.T".into());
        std::sync::Arc::make_mut(&mut v.env).insert("T".into(), "t".into());
        assert_eq!(sub("$LABEL.x", &v), "t");
    }

    #[test]
    fn filter_keys_upper_case_rune_by_rune_like_go() {
        assert_eq!(go_to_upper("héllo_1"), "HÉLLO_1");
        assert_eq!(go_to_upper("straße"), "STRAßE");
    }

    #[test]
    fn odd_text_does_not_panic() {
        let mut v = vars();
        std::sync::Arc::make_mut(&mut v.env).insert("É".into(), "x".into());
        v.filters = vec![
            (String::new(), "empty-key".into()),
            ("ß".into(), "'\"".into()),
        ];
        v.labels.insert(String::new(), "L".into());
        for t in [
            "",
            "$",
            "$ENV",
            "$ENV.",
            "$ENV.É",
            "ü$ENV.Aé",
            "$LABEL.",
            "$ß$SS",
            "\u{0}$ENV._",
            "$$$$",
        ] {
            let s = substitute(t, &v);
            assert!(s.text.len() < 10_000);
        }
        // An empty filter key replaces every `$` (Keptn did the same).
        assert_eq!(sub("$PROJECT", &v), "empty-keyPROJECT");
    }
}
