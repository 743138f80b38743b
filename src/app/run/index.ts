/**
 * The run report and the runner of flow files: renderers (pure), the terminal reporter, exit
 * codes, OTLP tracing, and `main` for runnable flow files.
 *
 * @example
 * ```ts
 * import { main } from "mcpflow"
 * main(import.meta, cicd, { sandbox: cicdSandbox })
 * ```
 * @module
 */
export * as EngineChoice from "./EngineChoice.ts"
export * as ExitCode from "./ExitCode.ts"
export * as Lines from "./Lines.ts"
export * as LoadFlow from "./LoadFlow.ts"
export { main } from "./FlowFile.ts"
export * as Text from "./Text.ts"
export * as Reporter from "./Reporter.ts"
export * as RunFlow from "./RunFlow.ts"
export * as Summary from "./Summary.ts"
export * as Tracing from "./Tracing.ts"
export * as Tree from "./Tree.ts"
