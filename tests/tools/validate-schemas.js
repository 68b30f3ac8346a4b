// Validate problem bodies against their JSON Schemas with ajv (draft 2020-12, formats on, strict mode).
// Usage: node validate-schemas.js cases.json, where cases.json is [{"schema": {...}, "body": {...}}, ...].
// Prints one line per case that does not validate; exits 1 when any does not.
"use strict";
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let failed = 0;
cases.forEach((entry, index) => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(entry.schema);
  if (!validate(entry.body)) {
    failed += 1;
    console.log(`${index}: ${JSON.stringify(validate.errors)}`);
  }
});
process.exit(failed ? 1 : 0);
