// The slogate task: runs the slogate binary bundled for the agent's OS with the task's inputs,
// publishes the JUnit results, and sets the task result from slogate's outcome.
//
// slogate itself, seeing TF_BUILD, prints the logging commands for the Markdown summary
// (task.uploadsummary), the variables SLOGATE_RESULT / SLOGATE_SCORE and one error per failing
// objective; they reach the agent through this task's output. Exit codes (docs/outcomes.md):
// 0 pass or warning, 1 fail, 2 invalid, 3 error (could not evaluate).
"use strict";

const fs = require("fs");
const path = require("path");
const tl = require("azure-pipelines-task-lib/task");

const COMMANDS = ["mark", "gate", "eval"];
const PLATFORMS = {
  "linux-x64": "linux-x64/slogate",
  "linux-arm64": "linux-arm64/slogate",
  "win32-x64": "win32-x64/slogate.exe",
  "darwin-x64": "darwin-x64/slogate",
  "darwin-arm64": "darwin-arm64/slogate",
};

/** The binary to run: the slogatePath input, the one bundled for this OS, or slogate on PATH. */
function findSlogate() {
  const given = tl.getInput("slogatePath", false);
  if (given) return given;
  const key = `${process.platform}-${process.arch}`;
  if (PLATFORMS[key]) {
    const bundled = path.join(__dirname, "bin", PLATFORMS[key]);
    if (tl.exist(bundled)) {
      // A .vsix is a zip: the executable bit does not survive it.
      try {
        if (process.platform !== "win32") fs.chmodSync(bundled, 0o755);
      } catch (e) {
        tl.debug(`chmod ${bundled}: ${e.message}`);
      }
      return bundled;
    }
  }
  const onPath = tl.which("slogate", false);
  if (onPath) return onPath;
  return null;
}

/** The services input: one per line or comma-separated. */
function services(text) {
  return (text || "")
    .split(/[\r\n,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The value slogate set with ##vso[task.setvariable variable=NAME...]VALUE, or undefined. */
function variableFrom(stdout, name) {
  let value;
  const re = new RegExp(`##vso\\[task\\.setvariable variable=${name}(?:;[^\\]]*)?\\]([^\\r\\n]*)`, "g");
  for (const m of stdout.matchAll(re)) value = m[1];
  return value;
}

/** junit.xml in the report folder, or one per service in its sub-folders. */
function junitFiles(dir) {
  const files = [];
  if (!dir || !fs.existsSync(dir)) return files;
  const top = path.join(dir, "junit.xml");
  if (fs.existsSync(top)) files.push(top);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, entry.name, "junit.xml");
    if (entry.isDirectory() && fs.existsSync(f)) files.push(f);
  }
  return files;
}

/** Stops before slogate ran, the way slogate stops on bad input: invalid (or error), one error. */
function stop(result, message) {
  tl.setVariable("SLOGATE_RESULT", result);
  tl.setVariable("SLOGATE_SCORE", "");
  tl.setResult(tl.TaskResult.Failed, `slogate: ${message}`);
}

async function run() {
  const command = tl.getInput("command", true);
  if (!COMMANDS.includes(command)) {
    return stop("invalid", `command must be mark, gate or eval, not '${command}'`);
  }
  const evaluates = command !== "mark";
  const bin = findSlogate();
  if (!bin) {
    return stop("error", `no slogate binary for ${process.platform}-${process.arch}: set 'slogate binary' or put slogate on PATH`);
  }

  const tool = tl.tool(bin);
  tool.arg(command);
  tool.arg(["--config", tl.getInput("configPath", false) || "slo"]);
  const stage = tl.getInput("stage", false);
  if (stage) tool.arg(["--stage", stage]);
  for (const s of services(tl.getInput("services", false))) tool.arg(["--service", s]);

  let reportDir = "";
  if (evaluates) {
    const timeframe = tl.getInput("timeframe", false);
    if (timeframe) tool.arg(["--timeframe", timeframe]);
    if (command === "gate") {
      if (tl.getBoolInput("sinceDeployment", false)) tool.arg("--since-deployment");
      const wait = tl.getInput("wait", false);
      if (wait) tool.arg(["--wait", wait]);
    }
    const failOn = tl.getInput("failOn", false);
    if (failOn && failOn !== "fail") tool.arg(["--fail-on", failOn]);
    reportDir = tl.getInput("reportDir", false) || "";
    if (reportDir) tool.arg(["--report-dir", reportDir]);
  }
  const more = tl.getInput("arguments", false);
  if (more) tool.line(more);

  // The Dynatrace connection: the service connection, then the two inputs; else slogate reads
  // DT_URL / DT_API_TOKEN from the environment or dynatrace.url from slogate.yaml.
  const env = Object.assign({}, process.env);
  const connection = tl.getInput("dynatraceConnection", false);
  let url = tl.getInput("dynatraceUrl", false);
  let token = tl.getInput("dynatraceToken", false);
  if (connection) {
    url = url || tl.getEndpointUrl(connection, true);
    token = token || tl.getEndpointAuthorizationParameter(connection, "apitoken", true);
  }
  if (url) env.DT_URL = url.replace(/\/+$/, "");
  if (token) {
    tl.setSecret(token);
    env.DT_API_TOKEN = token;
  }

  let stdout = "";
  tool.on("stdout", (data) => {
    stdout += data.toString();
  });
  const code = await tool.exec({
    cwd: tl.getInput("workingDirectory", false) || process.cwd(),
    env,
    ignoreReturnCode: true,
    failOnStdErr: false,
  });

  let result = variableFrom(stdout, "SLOGATE_RESULT");
  const score = variableFrom(stdout, "SLOGATE_SCORE");
  if (evaluates && result === undefined) {
    // slogate always sets it; without it, slogate did not get that far (crashed, killed).
    result = code === 2 ? "invalid" : "error";
    tl.setVariable("SLOGATE_RESULT", result);
    tl.setVariable("SLOGATE_SCORE", "");
  }

  if (evaluates && tl.getBoolInput("publishTestResults", false)) {
    const files = junitFiles(reportDir);
    if (files.length > 0) {
      tl.command(
        "results.publish",
        {
          type: "JUnit",
          mergeResults: "true",
          runTitle: `slogate ${command}${stage ? " " + stage : ""}`,
          resultFiles: files.join(","),
          failTaskOnFailedTests: "false",
        },
        "",
      );
    }
  }

  const scoreText = score ? `, score ${score}` : "";
  switch (code) {
    case 0:
      if (result === "warning") {
        tl.setResult(tl.TaskResult.SucceededWithIssues, `slogate: warning${scoreText}`);
      } else {
        tl.setResult(tl.TaskResult.Succeeded, evaluates ? `slogate: ${result}${scoreText}` : `slogate ${command} done`);
      }
      break;
    case 1:
      if (result === "warning") {
        tl.setResult(tl.TaskResult.Failed, `slogate: warning${scoreText} (failing on warnings)`);
      } else {
        tl.setResult(tl.TaskResult.Failed, `slogate: fail${scoreText} (the release is worse)`);
      }
      break;
    case 2:
      tl.setResult(tl.TaskResult.Failed, "slogate: invalid input, no verdict (see the error above)");
      break;
    case 3:
      if (tl.getInput("errorResult", false) === "succeededWithIssues") {
        tl.setResult(tl.TaskResult.SucceededWithIssues, "slogate: could not evaluate (error), no verdict");
      } else {
        tl.setResult(tl.TaskResult.Failed, "slogate: could not evaluate (error), no verdict");
      }
      break;
    default:
      tl.setResult(tl.TaskResult.Failed, `slogate ended with exit code ${code}`);
  }
}

run().catch((e) => {
  tl.setVariable("SLOGATE_RESULT", "error");
  tl.setResult(tl.TaskResult.Failed, `slogate task: ${e.message}`);
});
