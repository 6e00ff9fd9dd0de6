// The examples of clients/js/README.md, as written there, for the tests that run them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

/** The first fenced block of `language` after the line starting with `heading`, with the bus address replaced. */
export function readmeExample(heading, language, busAddress) {
  const start = readme.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no ${heading}`);
  const open = readme.indexOf("```" + language + "\n", start);
  const close = readme.indexOf("\n```", open + 4);
  if (open < 0 || close < 0) throw new Error(`README.md has no ${language} block after ${heading}`);
  return readme.slice(open + language.length + 4, close + 1).replaceAll("localhost:9313", busAddress);
}
