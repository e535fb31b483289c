"""Tests of the GitLab CI/CD component templates/slogate.yml without GitLab.

- Both YAML documents parse; the header declares `spec: inputs`, every `$[[ inputs.x ]]` used is
  declared, and the job keeps JUnit and dotenv reports with `when: always`.
- The template is interpolated the way GitLab does it (inputs replaced textually), and the job's
  script runs under `sh` with the job's variables, against a stub slogate: first on PATH, then
  downloaded from a fake release folder (file:// URLs) and checked against SHA256SUMS.

usage: python3 dist/gitlab/test_template.py   (exit 1 on a failure)
"""

import functools
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "templates", "slogate.yml")
INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")

STUB = """#!/bin/sh
if [ "$1" = --version ]; then echo "slogate 9.9.9 (commit stub, built 2026-01-01)"; exit 0; fi
printf '%s\\n' "$@" > "$STUB_ARGV"
exit "${STUB_RC:-0}"
"""

passed = 0
failed = 0


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def check(name, expected, actual):
    global passed, failed
    if expected == actual:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}\n  expected: {expected!r}\n  actual:   {actual!r}")


def render(text, spec, given):
    """GitLab's interpolation: every $[[ inputs.x ]] becomes the given value or the default."""

    def value(m):
        name = m.group(1)
        v = given.get(name, spec[name].get("default"))
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    return INPUT.sub(value, text)


def run_job(text, spec, given, env_extra, path_first=None):
    header, body = text.split("\n---\n", 1)
    job_doc = yaml.safe_load(render(body, spec, given))
    (name, job), = job_doc.items()
    with tempfile.TemporaryDirectory() as work:
        argv = os.path.join(work, "argv")
        env = {"PATH": (path_first + ":" if path_first else "") + "/usr/bin:/bin",
               "STUB_ARGV": argv, "CI_PROJECT_DIR": work, "HOME": work}
        env.update({k: str(v) for k, v in job["variables"].items()})
        env.update(env_extra)
        script = "\n".join(job["script"])
        proc = subprocess.run(["sh", "-c", script], env=env, cwd=work, capture_output=True, text=True)
        args = open(argv).read().split("\n")[:-1] if os.path.exists(argv) else None
        return name, job, proc, args


def main():
    text = open(TEMPLATE, encoding="utf-8").read()
    docs = list(yaml.safe_load_all(text))
    check("two documents", 2, len(docs))
    spec = docs[0]["spec"]["inputs"]
    for name, s in spec.items():
        if not (s or {}).get("description"):
            check(f"input {name} has a description", True, False)
    used = set(INPUT.findall(text.split("\n---\n", 1)[1]))
    check("inputs used are declared", [], sorted(used - set(spec)))
    check("inputs declared are used", [], sorted(set(spec) - used))

    with tempfile.TemporaryDirectory() as tmp:
        stubdir = os.path.join(tmp, "bin")
        os.makedirs(stubdir)
        stub = os.path.join(stubdir, "slogate")
        with open(stub, "w") as f:
            f.write(STUB)
        os.chmod(stub, 0o755)

        # defaults: a gate job with reports kept always
        name, job, proc, args = run_job(text, spec, {}, {}, stubdir)
        check("default job name", "slo-gate", name)
        check("artifacts when always", "always", job["artifacts"]["when"])
        check("junit report", ["slogate-report/junit.xml", "slogate-report/*/junit.xml"],
              job["artifacts"]["reports"]["junit"])
        check("dotenv report", "slogate-report/slogate.env", job["artifacts"]["reports"]["dotenv"])
        check("default argv", ["gate", "--config", "slo", "--report-dir", "slogate-report", "--since-deployment"], args)
        check("default exit", 0, proc.returncode)

        # a full gate
        given = {"services": "checkout cart", "slo-stage": "production", "timeframe": "30m", "wait": "45m",
                 "fail-on": "warning", "args": "--push-result --history dynatrace", "job-name": "gate-prod",
                 "job-stage": "verify"}
        name, job, proc, args = run_job(text, spec, given, {"STUB_RC": "1"}, stubdir)
        check("job name and stage", ("gate-prod", "verify"), (name, job["stage"]))
        check("gate argv", ["gate", "--config", "slo", "--stage", "production", "--service", "checkout",
                            "--service", "cart", "--timeframe", "30m", "--fail-on", "warning",
                            "--report-dir", "slogate-report", "--wait", "45m", "--since-deployment",
                            "--push-result", "--history", "dynatrace"], args)
        check("exit code passes through", 1, proc.returncode)

        # mark: no report folder, no gate flags
        given = {"command": "mark", "services": "checkout", "slo-stage": "production",
                 "args": "--version 1a2b3c4", "wait": "45m", "since-deployment": False}
        _, _, proc, args = run_job(text, spec, given, {}, stubdir)
        check("mark argv", ["mark", "--config", "slo", "--stage", "production", "--service", "checkout",
                            "--version", "1a2b3c4"], args)

        # eval without since-deployment
        given = {"command": "eval", "services": "checkout", "timeframe": "1h", "args": "--to now-1h"}
        _, _, proc, args = run_job(text, spec, given, {"STUB_RC": "3"}, stubdir)
        check("eval argv", ["eval", "--config", "slo", "--service", "checkout", "--timeframe", "1h",
                            "--report-dir", "slogate-report", "--to", "now-1h"], args)
        check("error is exit 3", 3, proc.returncode)

        # not on PATH: download from the release, checked
        machine = os.uname().machine
        target = {"x86_64": "x86_64-unknown-linux-musl", "aarch64": "aarch64-unknown-linux-musl"}.get(machine)
        if target and (shutil.which("curl") or shutil.which("wget")):
            rel = os.path.join(tmp, "releases", "download", "v1.2.3")
            os.makedirs(rel)
            asset = os.path.join(rel, f"slogate-{target}")
            shutil.copy(stub, asset)
            digest = hashlib.sha256(open(asset, "rb").read()).hexdigest()
            with open(os.path.join(rel, "SHA256SUMS"), "w") as f:
                f.write(f"{'0' * 64}  slogate-other\n{digest}  slogate-{target}\n")
            given = {"version": "1.2.3", "releases-url": "file://" + os.path.join(tmp, "releases"),
                     "services": "checkout"}
            _, _, proc, args = run_job(text, spec, given, {})
            check("downloaded and ran", (0, ["gate", "--config", "slo", "--service", "checkout",
                                             "--report-dir", "slogate-report", "--since-deployment"]),
                  (proc.returncode, args))
            with open(asset, "a") as f:
                f.write("# tampered\n")
            _, _, proc, args = run_job(text, spec, given, {})
            check("tampered binary refused", (2, None), (proc.returncode, args))
            check("says why", True, "does not match SHA256SUMS" in proc.stdout + proc.stderr)
            _, _, proc, args = run_job(text, spec, {"services": "checkout"}, {})
            check("no slogate and no releases-url", (2, True), (proc.returncode, "releases-url" in proc.stdout))
        else:
            print(f"(download test skipped: {machine}, curl/wget)")

        # The default image is alpine: busybox sh, wget, grep and sha256sum, over HTTP.
        if target and shutil.which("busybox"):
            busy = os.path.join(tmp, "busybox")
            os.makedirs(busy)
            for applet in ["sh", "wget", "grep", "sha256sum", "uname", "mkdir", "mv", "chmod", "cat", "sed", "printf", "echo", "env"]:
                os.symlink(shutil.which("busybox"), os.path.join(busy, applet))
            rel = os.path.join(tmp, "http", "download", "v2.0.0")
            os.makedirs(rel)
            asset = os.path.join(rel, f"slogate-{target}")
            shutil.copy(stub, asset)
            digest = hashlib.sha256(open(asset, "rb").read()).hexdigest()
            with open(os.path.join(rel, "SHA256SUMS"), "w") as f:
                f.write(f"{digest}  slogate-{target}\n{'1' * 64}  slogate-{target}.exe\n")
            server = http.server.ThreadingHTTPServer(
                ("127.0.0.1", 0),
                functools.partial(Quiet, directory=os.path.join(tmp, "http")))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            given = {"version": "v2.0.0", "releases-url": f"http://127.0.0.1:{server.server_address[1]}",
                     "services": "checkout"}
            _, job, _, _ = run_job(text, spec, given, {})
            script = "\n".join(job["script"])
            env = {k: str(v) for k, v in job["variables"].items()}
            with tempfile.TemporaryDirectory() as w:
                argv = os.path.join(w, "argv")
                env.update({"PATH": busy, "STUB_ARGV": argv, "CI_PROJECT_DIR": w, "HOME": w})
                # The stub slogate is #!/bin/sh: give it a shell the busybox PATH can start.
                proc = subprocess.run([os.path.join(busy, "sh"), "-c", script], env=env, cwd=w,
                                      capture_output=True, text=True)
                args = open(argv).read().split("\n")[:-1] if os.path.exists(argv) else None
            server.shutdown()
            check("busybox: downloaded over HTTP, checked, ran",
                  (0, ["gate", "--config", "slo", "--service", "checkout", "--report-dir", "slogate-report",
                       "--since-deployment"]),
                  (proc.returncode, args))
            if proc.returncode != 0:
                print(proc.stdout + proc.stderr)
        else:
            print("(busybox not installed: the alpine download path not checked)")

    # The job's script is POSIX sh (alpine's busybox); shellcheck it when shellcheck is there.
    if shutil.which("shellcheck"):
        job = list(yaml.safe_load(render(text.split("\n---\n", 1)[1], spec, {})).values())[0]
        proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input="\n".join(job["script"]),
                              capture_output=True, text=True)
        check("shellcheck -s sh on the job script", "", proc.stdout)
    else:
        print("(shellcheck not installed: job script not checked)")

    print(f"gitlab template: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
