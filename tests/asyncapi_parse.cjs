// Parses an AsyncAPI document with the official parser (@asyncapi/parser, installed by `make test` into .tools/)
// and prints its diagnostics as JSON: severity 0 is an error. Usage: node asyncapi_parse.cjs <document.json>
const path = require("path");
const fs = require("fs");
const { Parser } = require(path.resolve(__dirname, "..", ".tools", "node_modules", "@asyncapi", "parser"));

(async () => {
  const text = fs.readFileSync(process.argv[2], "utf8");
  const { diagnostics } = await new Parser().parse(text);
  console.log(JSON.stringify(diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message,
                                                        path: d.path }))));
})();
