#!/usr/bin/env python3
"""Builds fuzz/corpus/<target>/ from the project's own fixtures (tests/fixtures, slo-examples)
and the small hand-written seeds in fuzz/seeds/. Run from anywhere; safe to re-run."""
import hashlib, os, re, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"

def files(*dirs, suffix):
    for d in dirs:
        for p in sorted((root / d).rglob(f"*{suffix}")):
            if p.is_file():
                yield p

def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)

yaml = list(files("tests/fixtures", "slo-examples", suffix=".yaml"))
json_files = list(files("tests/fixtures", "slo-examples", suffix=".json"))
for p in yaml:
    text = p.read_text(errors="replace")
    add("yaml_loaders", text)
    # quoted criteria such as "<=+10%" or '<600'
    for c in re.findall(r"""["']([<>=][^"']{0,40})["']""", text):
        add("criteria", c)
    # indicator queries: `name: "query"` under indicators
    if p.name == "sli.yaml":
        for q in re.findall(r"""^\s+[\w.-]+:\s*["'](.+)["']\s*$""", text, re.M):
            add("sli_query", q.replace('\\"', '"'))
for p in json_files:
    data = p.read_bytes()
    add("importers", data)
    add("reducers", data)
    if "report" in p.name:
        add("renderers", data)
    if "dashboard" in str(p):
        add("dashboards", data)
for p in yaml:
    if p.parent.name == "prometheus" and p.name == "sli.yaml":
        add("prometheus", p.read_bytes())
add("sanitiser", "ok\n##vso[task.setvariable variable=X]y\r::add-mask::z\n##[error]e\x1b]0;t\x07\x1b[31mred\x1b[0m")
for target in ("reducers", "times", "criteria", "sli_query", "renderers", "importers", "yaml_loaders", "dashboards", "prometheus", "sanitiser"):
    for p in files(f"fuzz/seeds/{target}", suffix=""):
        add(target, p.read_bytes())
for t in sorted(os.listdir(corpus)):
    print(f"{t}: {len(os.listdir(corpus / t))} seeds")
