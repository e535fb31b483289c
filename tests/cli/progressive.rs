//! The progressive-delivery examples (slo-examples/progressive-delivery: Argo Rollouts, Flagger)
//! are valid YAML, their embedded SLO files lint clean, and every slogate command line in them
//! parses with today's flags.

use slogate::diag::SourceFile;
use slogate::model::yaml::{Node, Value, parse_documents};

fn examples() -> std::path::PathBuf {
    crate::support::examples().join("progressive-delivery")
}

/// Every scalar and every list of scalars in a tree, depth first.
fn walk<'a>(n: &'a Node, lists: &mut Vec<Vec<&'a str>>, scalars: &mut Vec<&'a str>) {
    match &n.value {
        Value::Scalar { text, .. } => scalars.push(text),
        Value::Seq(items) => {
            let texts: Vec<&str> = items
                .iter()
                .filter_map(|i| match &i.value {
                    Value::Scalar { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            if texts.len() == items.len() {
                lists.push(texts);
            }
            for i in items {
                walk(i, lists, scalars);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                walk(k, lists, scalars);
                walk(v, lists, scalars);
            }
        }
    }
}

#[test]
fn progressive_delivery_examples_parse_and_use_real_flags() {
    let mut commands: Vec<(String, Vec<String>)> = Vec::new();
    // The manifests (the folder's own sli.yaml, slo.yaml and slogate.yaml are Argo's ConfigMap
    // as files, linted with every example).
    for manifest in ["argo-rollouts.yaml", "flagger.yaml"] {
        let path = examples().join(manifest);
        let name = path.display().to_string();
        let file = SourceFile::new(&name, std::fs::read_to_string(&path).unwrap());
        let (docs, problems) = parse_documents(&file);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        assert!(docs.len() >= 2, "{name}: {} documents", docs.len());
        let (mut lists, mut scalars) = (Vec::new(), Vec::new());
        for d in &docs {
            walk(d, &mut lists, &mut scalars);
        }
        // A Job's args: a list starting with `gate`.
        for l in lists.iter().filter(|l| l.first() == Some(&"gate")) {
            commands.push((name.clone(), l.iter().map(|s| s.to_string()).collect()));
        }
        // A load tester's command: a string starting with `slogate gate` (no quoted words).
        for s in scalars.iter().filter(|s| s.starts_with("slogate gate")) {
            commands.push((
                name.clone(),
                s.split_whitespace().skip(1).map(str::to_string).collect(),
            ));
        }
        // The SLO files they carry lint clean.
        let dir = tempfile::tempdir().unwrap();
        for d in &docs {
            let Value::Map(entries) = &d.value else {
                continue;
            };
            let data = entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Scalar { text, .. } if text == "data"));
            if let Some((
                _,
                Node {
                    value: Value::Map(files),
                    ..
                },
            )) = data
            {
                for (k, v) in files {
                    if let (Value::Scalar { text: k, .. }, Value::Scalar { text: v, .. }) =
                        (&k.value, &v.value)
                    {
                        std::fs::write(dir.path().join(k), v).unwrap();
                    }
                }
                crate::support::Slogate::new()
                    .arg("lint")
                    .arg(dir.path())
                    .run()
                    .assert_no_panic()
                    .assert_code(0);
            }
        }
    }
    assert_eq!(commands.len(), 2, "{commands:?}");
    for (file, args) in &commands {
        let argv = std::iter::once("slogate".to_string()).chain(args.iter().cloned());
        let parsed = slogate::cli::command().try_get_matches_from(argv);
        assert!(parsed.is_ok(), "{file}: {args:?}: {}", parsed.unwrap_err());
        assert!(
            args.iter()
                .any(|a| a == "--control-service" || a == "--control-label"),
            "{file}: a canary gate names its control: {args:?}"
        );
    }
}
