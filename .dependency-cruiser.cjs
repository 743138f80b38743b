/**
 * mcpflow's floor plan, enforced in `npm test` (test/architecture.test.ts).
 *
 *   dsl  ←  src/runtime  ←  chaos  ←  src/app (and the entry points in src/*.ts)  ←  flows
 *
 * An arrow points at what a layer may import. Tests and benchmarks may import anything.
 */
const layer = (name, path, forbidden) => ({
  name: `${name}-imports-upward`,
  comment: `${name} may not import ${forbidden.join(", ")} (the onion goes one way)`,
  severity: "error",
  from: { path },
  to: { path: forbidden.map((f) => `^${f}`) }
})

module.exports = {
  forbidden: [
    layer("dsl", "^dsl/", ["src/", "chaos/", "flows/", "test/", "bench/"]),
    layer("runtime", "^src/runtime/", ["src/app/", "src/[^/]+\\.ts$", "chaos/", "flows/", "test/", "bench/"]),
    layer("chaos", "^chaos/", ["src/app/", "src/[^/]+\\.ts$", "flows/", "test/", "bench/"]),
    layer("app", "^src/(app/|[^/]+\\.ts$)", ["flows/", "test/", "bench/"]),
    layer("flows", "^flows/", ["test/", "bench/"]),
    {
      name: "no-cycles",
      comment: "modules may not import each other in a circle",
      severity: "error",
      from: { path: "^(dsl|src|chaos|flows)/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } }
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that does not resolve",
      severity: "error",
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    parser: "swc",
    skipAnalysisNotInRules: true
  }
}
