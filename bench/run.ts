/**
 * `npm run bench -- NAME`: runs one benchmark (or all, with no name). Each prints its figures
 * and, as its last line, one JSON object `{bench, value, unit, baseline, ratio}`.
 */
const benches: Record<string, () => Promise<unknown>> = {
  batch: () => import("./batch.ts"),
  cluster: () => import("./cluster.ts"),
  chaos: () => import("./chaos.ts"),
  cli: () => import("./cli.ts"),
  gateway: () => import("./gateway.ts"),
  interpreter: () => import("./interpreter.ts"),
  journal: () => import("./journal.ts"),
  plan: () => import("./plan.ts"),
  policies: () => import("./policies.ts"),
  routing: () => import("./routing.ts"),
  soak: () => import("./soak.ts"),
  stdioStart: () => import("./stdioStart.ts")
}

const names = process.argv.slice(2)
const unknown = names.filter((n) => !(n in benches))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(benches).join(", ")}`)
  process.exit(2)
}
for (const name of names.length > 0 ? names : Object.keys(benches)) {
  await benches[name]!()
}
