// Reorders an official Postman collection so that one run walks a whole flow.
// The collections are written to be run request by request in Postman, in an order that
// cancels a payment before capturing it; this keeps every request and changes only the order.
// usage: node order.mjs <collection.json> <out.json> <request name>...
import { readFileSync, writeFileSync } from "node:fs";

const [, , input, output, ...names] = process.argv;
const collection = JSON.parse(readFileSync(input, "utf8"));
const flat = [];
const walk = (items) => items.forEach((it) => (it.item ? walk(it.item) : flat.push(it)));
walk(collection.item);
collection.item = names.map((name) => {
  const found = flat.find((it) => it.name === name);
  if (!found) throw new Error(`no request named ${JSON.stringify(name)} in ${input}`);
  return found;
});
writeFileSync(output, JSON.stringify(collection));
