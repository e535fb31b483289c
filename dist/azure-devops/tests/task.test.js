// Tests of the slogate Azure Pipelines task: the task library's mock-run harness runs index.js
// with inputs and a mocked slogate (exec answers); we check the command line it ran, the
// variables and logging commands it wrote, and the task result. One more test runs index.js for
// real against a stub slogate, to see the Dynatrace URL and token reach its environment.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const cp = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const taskDir = path.join(__dirname, "..", "tasks", "slogate");
const { MockTestRunner } = require(path.join(taskDir, "node_modules", "azure-pipelines-task-lib", "mock-test"));

const platformDirs = {
  "linux-x64": "linux-x64/slogate",
  "linux-arm64": "linux-arm64/slogate",
  "win32-x64": "win32-x64/slogate.exe",
  "darwin-x64": "darwin-x64/slogate",
  "darwin-arm64": "darwin-arm64/slogate",
};
const BIN = path.join(taskDir, "bin", platformDirs[`${process.platform}-${process.arch}`] || "none/slogate");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "slogate-task-"));

const AZURE_OUT = (result, score) =>
  `PASS or whatever the report says\n##vso[task.setvariable variable=SLOGATE_RESULT]${result}\n##vso[task.setvariable variable=SLOGATE_SCORE]${score}\n##vso[task.uploadsummary]${work}/summary.md`;

let n = 0;
/** Runs the task under mock-run; returns the MockTestRunner after the run. */
async function runTask(c) {
  const file = path.join(work, `case-${n++}.json`);
  const answers = Object.assign({ exist: { [BIN]: true } }, c);
  fs.writeFileSync(file, JSON.stringify(answers));
  process.env.SLOGATE_CASE = file;
  const tr = new MockTestRunner(path.join(__dirname, "mock-run-case.js"), path.join(taskDir, "task.json"));
  // Run on this node: the harness would otherwise download the Node version task.json names.
  tr.nodePath = process.execPath;
  await tr.runAsync();
  for (const k of Object.keys(c.env || {})) delete process.env[k];
  return tr;
}

function ran(tr, cmdline) {
  assert.ok(tr.ran(cmdline), `did not run:\n  ${cmdline}\nstdout:\n${tr.stdout}`);
  assert.strictEqual(tr.invokedToolCount, 1, "slogate runs once");
}

function completed(tr, result) {
  const m = [...tr.stdout.matchAll(/##vso\[task\.complete result=([A-Za-z]+);?\]/g)].map((x) => x[1]);
  assert.strictEqual(m[m.length - 1], result, `task result\nstdout:\n${tr.stdout}`);
}

const gateInputs = {
  command: "gate",
  configPath: "slo",
  services: "checkout\n cart \n",
  stage: "production",
  sinceDeployment: "true",
  timeframe: "30m",
  wait: "45m",
  failOn: "fail",
  reportDir: path.join(work, "report"),
  publishTestResults: "true",
  arguments: "--push-result",
};
const gateLine = `${BIN} gate --config slo --stage production --service checkout --service cart --timeframe 30m --since-deployment --wait 45m --report-dir ${path.join(work, "report")} --push-result`;

test("gate pass: the command line, the variables, JUnit published, succeeded", async () => {
  fs.mkdirSync(path.join(work, "report", "checkout"), { recursive: true });
  fs.mkdirSync(path.join(work, "report", "cart"), { recursive: true });
  fs.writeFileSync(path.join(work, "report", "checkout", "junit.xml"), "<testsuites/>");
  fs.writeFileSync(path.join(work, "report", "cart", "junit.xml"), "<testsuites/>");
  const tr = await runTask({ inputs: gateInputs, exec: { [gateLine]: { code: 0, stdout: AZURE_OUT("pass", "100") } } });
  ran(tr, gateLine);
  assert.ok(tr.succeeded, tr.stdout);
  completed(tr, "Succeeded");
  assert.match(tr.stdout, /##vso\[results\.publish type=JUnit;mergeResults=true;runTitle=slogate gate production;resultFiles=[^\]]*cart\/junit\.xml,[^\]]*checkout\/junit\.xml|##vso\[results\.publish type=JUnit;mergeResults=true;runTitle=slogate gate production;resultFiles=[^\]]*checkout\/junit\.xml,[^\]]*cart\/junit\.xml/);
  assert.match(tr.stdout, /##vso\[task\.uploadsummary\]/, "slogate's summary command passes through");
});

test("gate warning: succeeded with issues, fail-on flag only when warning", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "checkout", arguments: "", reportDir: "" });
  const line = `${BIN} gate --config slo --stage production --service checkout --timeframe 30m --since-deployment --wait 45m`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 0, stdout: AZURE_OUT("warning", "80") } } });
  ran(tr, line);
  completed(tr, "SucceededWithIssues");
  assert.match(tr.stdout, /result=SucceededWithIssues;\]slogate: warning, score 80/);
  assert.doesNotMatch(tr.stdout, /results\.publish/, "no report folder, nothing to publish");
});

test("gate fail: failed, rollback variable says fail", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "checkout", arguments: "", reportDir: "", failOn: "warning" });
  const line = `${BIN} gate --config slo --stage production --service checkout --timeframe 30m --since-deployment --wait 45m --fail-on warning`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 1, stdout: AZURE_OUT("fail", "40") } } });
  ran(tr, line);
  assert.ok(tr.failed);
  completed(tr, "Failed");
  assert.match(tr.stdout, /slogate: fail, score 40 \(the release is worse\)/);
  assert.match(tr.stdout, /##vso\[task\.setvariable variable=SLOGATE_RESULT\]fail/);
});

test("gate error: failed by default, succeeded with issues when chosen", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "checkout", arguments: "", reportDir: "", wait: "" });
  const line = `${BIN} gate --config slo --stage production --service checkout --timeframe 30m --since-deployment`;
  const exec = { [line]: { code: 3, stdout: AZURE_OUT("error", "") } };
  let tr = await runTask({ inputs, exec });
  ran(tr, line);
  completed(tr, "Failed");
  assert.match(tr.stdout, /could not evaluate \(error\), no verdict/);
  tr = await runTask({ inputs: Object.assign({}, inputs, { errorResult: "succeededWithIssues" }), exec });
  completed(tr, "SucceededWithIssues");
});

test("gate invalid: failed", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "", stage: "", arguments: "", reportDir: "", sinceDeployment: "false", wait: "" });
  const line = `${BIN} gate --config slo --timeframe 30m`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 2, stdout: AZURE_OUT("invalid", "") } } });
  ran(tr, line);
  completed(tr, "Failed");
  assert.match(tr.stdout, /invalid input, no verdict/);
});

test("slogate killed before its variables: SLOGATE_RESULT=error, failed", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "", stage: "", arguments: "", reportDir: "", sinceDeployment: "false", wait: "" });
  const line = `${BIN} gate --config slo --timeframe 30m`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 101, stdout: "thread main panicked" } } });
  completed(tr, "Failed");
  assert.match(tr.stdout, /##vso\[task\.setvariable variable=SLOGATE_RESULT;[^\]]*\]error/);
});

test("warning with failOn warning: failed, and says so", async () => {
  const inputs = Object.assign({}, gateInputs, { services: "checkout", arguments: "", reportDir: "", failOn: "warning" });
  const line = `${BIN} gate --config slo --stage production --service checkout --timeframe 30m --since-deployment --wait 45m --fail-on warning`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 1, stdout: AZURE_OUT("warning", "80") } } });
  completed(tr, "Failed");
  assert.match(tr.stdout, /slogate: warning, score 80 \(failing on warnings\)/);
});

test("eval: timeframe and report folder, no gate flags", async () => {
  const inputs = { command: "eval", configPath: "config/slo", services: "checkout,cart", timeframe: "1h", wait: "45m", sinceDeployment: "true", reportDir: "out", publishTestResults: "false", arguments: "--from 2026-01-01T00:00:00Z" };
  const line = `${BIN} eval --config config/slo --service checkout --service cart --timeframe 1h --report-dir out --from 2026-01-01T00:00:00Z`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 0, stdout: AZURE_OUT("pass", "95") } } });
  ran(tr, line);
  completed(tr, "Succeeded");
});

test("mark: no window flags, quoted arguments, succeeded", async () => {
  const inputs = { command: "mark", configPath: "slo", services: "checkout", stage: "production", timeframe: "30m", wait: "45m", reportDir: "r", arguments: '--version 1.4.0 --title "checkout 1.4.0"' };
  const line = `${BIN} mark --config slo --stage production --service checkout --version 1.4.0 --title checkout 1.4.0`;
  const tr = await runTask({ inputs, exec: { [line]: { code: 0, stdout: "sent CUSTOM_DEPLOYMENT" } } });
  ran(tr, line);
  completed(tr, "Succeeded");
  assert.doesNotMatch(tr.stdout, /SLOGATE_RESULT/, "mark has no outcome variable");
});

test("the service connection gives URL and token; the token is a secret", async () => {
  const inputs = { command: "mark", configPath: "slo", services: "checkout", dynatraceConnection: "dt" };
  const line = `${BIN} mark --config slo --service checkout`;
  const env = { ENDPOINT_URL_dt: "https://abc12345.live.dynatrace.com/", ENDPOINT_AUTH_PARAMETER_dt_APITOKEN: "dt0c01.secret" };
  const tr = await runTask({ inputs, env, exec: { [line]: { code: 0, stdout: "ok" } } });
  ran(tr, line);
  assert.match(tr.stdout, /##vso\[task\.setsecret\]dt0c01\.secret/);
  completed(tr, "Succeeded");
});

test("no bundled binary and none on PATH: error, failed; slogate on PATH is used", async () => {
  const inputs = { command: "gate", configPath: "slo", sinceDeployment: "false", timeframe: "", reportDir: "" };
  let tr = await runTask({ inputs, exist: { [BIN]: false }, which: {} });
  completed(tr, "Failed");
  assert.match(tr.stdout, /no slogate binary for/);
  assert.match(tr.stdout, /SLOGATE_RESULT;[^\]]*\]error/);
  tr = await runTask({ inputs, exist: { [BIN]: false }, which: { slogate: "/usr/local/bin/slogate" }, exec: { "/usr/local/bin/slogate gate --config slo": { code: 0, stdout: AZURE_OUT("pass", "100") } } });
  ran(tr, "/usr/local/bin/slogate gate --config slo");
});

test("an unknown command is invalid", async () => {
  const tr = await runTask({ inputs: { command: "deploy" } });
  completed(tr, "Failed");
  assert.match(tr.stdout, /SLOGATE_RESULT;[^\]]*\]invalid/);
  assert.strictEqual(tr.invokedToolCount, 0);
});

test("for real: a stub slogate gets DT_URL and DT_API_TOKEN and the arguments", { skip: process.platform === "win32" }, () => {
  const stub = path.join(work, "stub-slogate");
  fs.writeFileSync(stub, `#!/bin/sh\necho "ARGS $*"\necho "ENV $DT_URL $DT_API_TOKEN"\necho "##vso[task.setvariable variable=SLOGATE_RESULT]warning"\necho "##vso[task.setvariable variable=SLOGATE_SCORE]75"\nexit 0\n`);
  fs.chmodSync(stub, 0o755);
  const env = Object.assign({}, process.env, {
    INPUT_COMMAND: "gate",
    INPUT_CONFIGPATH: "slo",
    INPUT_SERVICES: "checkout",
    INPUT_SINCEDEPLOYMENT: "true",
    INPUT_TIMEFRAME: "30m",
    INPUT_DYNATRACEURL: "https://abc12345.live.dynatrace.com",
    INPUT_DYNATRACETOKEN: "dt0c01.real",
    INPUT_SLOGATEPATH: stub,
    INPUT_WORKINGDIRECTORY: work,
    AGENT_TEMPDIRECTORY: work,
  });
  const out = cp.execFileSync(process.execPath, [path.join(taskDir, "index.js")], { env, encoding: "utf8" });
  assert.match(out, /ARGS gate --config slo --service checkout --timeframe 30m --since-deployment/);
  assert.match(out, /ENV https:\/\/abc12345\.live\.dynatrace\.com dt0c01\.real/);
  assert.match(out, /##vso\[task\.complete result=SucceededWithIssues;\]slogate: warning, score 75/);
});
