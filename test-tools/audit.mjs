// The graphql-http server audit (GraphQL over HTTP) against a running
// mognad: `node audit.mjs http://127.0.0.1:8080/graphql`. Prints every
// result; exits 1 when any MUST fails, and prints the SHOULD count.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/graphql';
const results = [];
for (const audit of serverAudits({ url })) {
  results.push({ name: audit.name, result: await audit.fn() });
}
let mustFailed = 0;
let shouldOk = 0;
let shouldTotal = 0;
for (const { name, result } of results) {
  const must = name.startsWith('MUST');
  if (name.startsWith('SHOULD')) {
    shouldTotal += 1;
    if (result.status === 'ok') shouldOk += 1;
  }
  if (must && result.status !== 'ok') mustFailed += 1;
  const mark = result.status === 'ok' ? 'ok  ' : result.status === 'warn' ? 'WARN' : 'FAIL';
  console.log(`${mark} ${name}${result.status === 'ok' ? '' : ` — ${result.reason}`}`);
}
const musts = results.filter((r) => r.name.startsWith('MUST')).length;
console.log(`MUST: ${musts - mustFailed} of ${musts} pass; SHOULD: ${shouldOk} of ${shouldTotal} pass`);
process.exit(mustFailed > 0 ? 1 : 0);
