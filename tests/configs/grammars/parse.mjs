// Reads [[language, query], ...] as JSON on stdin; prints, for each, the offsets where Grafana's grammar
// found an error (an empty list: the query parses).
import { parser as logql } from "@grafana/lezer-logql";
import { parser as traceql } from "@grafana/lezer-traceql";
import { readFileSync } from "node:fs";

const parsers = { logql, traceql };
const queries = JSON.parse(readFileSync(0, "utf8"));
const results = queries.map(([language, query]) => {
  const errors = [];
  parsers[language].parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
});
console.log(JSON.stringify(results));
