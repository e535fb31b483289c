// One run of the task under the task library's mock-run harness. The case (inputs, answers)
// comes as JSON in the file named by $SLOGATE_CASE; task.test.js writes it and checks the run.
"use strict";
const fs = require("fs");
const path = require("path");

const taskDir = path.join(__dirname, "..", "tasks", "slogate");
const mr = require(path.join(taskDir, "node_modules", "azure-pipelines-task-lib", "mock-run"));
const c = JSON.parse(fs.readFileSync(process.env.SLOGATE_CASE, "utf8"));

const tmr = new mr.TaskMockRunner(path.join(taskDir, "index.js"));
for (const [k, v] of Object.entries(c.inputs || {})) tmr.setInput(k, v);
for (const [k, v] of Object.entries(c.env || {})) process.env[k] = v;
tmr.setAnswers({
  exist: c.exist || {},
  which: c.which || {},
  checkPath: c.checkPath || {},
  exec: c.exec || {},
});
tmr.run();
