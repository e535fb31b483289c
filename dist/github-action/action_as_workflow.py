"""Turns a composite action.yml into a workflow that actionlint can check, and checks the
metadata actionlint does not read.

actionlint lints workflows, not action metadata. The composite steps are put into one job of a
workflow_dispatch workflow whose inputs are the action's inputs, so actionlint checks the steps'
expressions (inputs.*, steps.*.outputs.*, github.*), shells and keys. The metadata itself is
checked here: name, description, runs.using, every input with a description, every output with
a value that names an existing step, every composite run step with a shell.

usage: python3 action_as_workflow.py action.yml > workflow.yml   (exit 1 on a metadata problem)
"""

import re
import sys

import yaml


def main(path):
    with open(path, encoding="utf-8") as f:
        action = yaml.safe_load(f)
    problems = []
    for key in ("name", "description", "runs"):
        if not action.get(key):
            problems.append(f"missing {key}")
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        problems.append("runs.using must be composite")
    inputs = action.get("inputs") or {}
    for name, spec in inputs.items():
        if not (spec or {}).get("description"):
            problems.append(f"input {name} has no description")
    steps = runs.get("steps") or []
    ids = {s.get("id") for s in steps if s.get("id")}
    for i, step in enumerate(steps):
        if "run" in step and not step.get("shell"):
            problems.append(f"step {i + 1} ({step.get('name')}) has run but no shell")
        if "run" not in step and "uses" not in step:
            problems.append(f"step {i + 1} has neither run nor uses")
    for name, spec in (action.get("outputs") or {}).items():
        value = str((spec or {}).get("value", ""))
        if not value:
            problems.append(f"output {name} has no value")
        for step_id in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", value):
            if step_id not in ids:
                problems.append(f"output {name} names step {step_id}, which does not exist")
    text = yaml.safe_dump({"x": action}, sort_keys=False)
    for used in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
        if used not in inputs:
            problems.append(f"inputs.{used} is used but not declared")
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)

    workflow = {
        "name": f"{path} as a workflow",
        "on": {
            "workflow_dispatch": {
                "inputs": {
                    name: {"description": (spec or {}).get("description", name), "type": "string"}
                    for name, spec in inputs.items()
                }
            }
        },
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    sys.stdout.write(f"# generated from {path} by action_as_workflow.py\n")
    sys.stdout.write(yaml.safe_dump(workflow, sort_keys=False, width=1000))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
