/**
 * Conditional steps: run a group only when a predicate on earlier results holds, and report it
 * as skipped otherwise.
 *
 * @module
 */
import { Effect, Option } from "effect"
import { runGroup, skip } from "./Group.ts"
import { interpreterOf } from "./internal/Interpreter.ts"
import { claim, CurrentScope } from "./RunScope.ts"

/**
 * Runs `body` as the group `name` when `condition` is true; otherwise reports `name` as skipped
 * (with `description` as the reason) and returns `None`. Plans show both the condition and
 * what the body would do.
 *
 * @example
 * ```ts
 * const prod = yield* when("production deploy", staging.healthy && scan.clean,
 *   step("apply", Kubernetes.kubectl_apply({ manifest_path: "k8s/prod/", namespace: "production" })),
 *   { description: "staging healthy and no vulnerabilities" })
 * ```
 */
export const when = <A, E, R>(
  name: string,
  condition: boolean,
  body: Effect.Effect<A, E, R>,
  options?: { readonly description?: string | undefined }
): Effect.Effect<Option.Option<A>, E, R> =>
  CurrentScope.use((scope) =>
    Effect.flatMap(claim(scope, name), (path) => {
      const condText = options?.description
      if (interpreterOf(scope).enters(() => condition)) {
        return Effect.map(runGroup(scope, path, "when", () => body, { condition: condText }), Option.some)
      }
      return Effect.as(skip(scope, path, "when", condText === undefined ? "condition false" : `not (${condText})`), Option.none())
    })
  )
