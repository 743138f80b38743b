/**
 * A small in-process MCP server for gateway tests, built with the SDK's `McpServer`, whose
 * handlers record what reached them.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { z } from "zod"

export interface EchoServerState {
  /** Calls that reached a handler, by tool name. */
  readonly calls: Array<{ readonly tool: string; readonly args: unknown }>
  /** Abort signals of calls to `hang`, to check cancellation. */
  readonly hangSignals: Array<AbortSignal>
  /** Pending `slow` calls: call `progress()` to send a progress notification, `finish()` to answer. */
  readonly slow: Array<{ readonly progress: () => Promise<void>; readonly finish: () => void }>
  /** How many server instances were made (one per connection). */
  instances: number
}

export const makeEchoState = (): EchoServerState => ({ calls: [], hangSignals: [], slow: [], instances: 0 })

export const makeEchoServer = (state: EchoServerState) => () => {
  state.instances += 1
  const server = new McpServer({ name: "echo", version: "1.0.0" })
  server.registerTool(
    "echo",
    {
      description: "Echo a message back as structured content",
      inputSchema: { message: z.string() },
      outputSchema: { echoed: z.string(), length: z.number() }
    },
    async ({ message }) => {
      state.calls.push({ tool: "echo", args: { message } })
      return {
        content: [{ type: "text", text: message }],
        structuredContent: { echoed: message, length: message.length }
      }
    }
  )
  server.registerTool(
    "json_text",
    { description: "Answer with one JSON text block", inputSchema: { n: z.number() } },
    async ({ n }) => {
      state.calls.push({ tool: "json_text", args: { n } })
      return { content: [{ type: "text", text: JSON.stringify({ doubled: n * 2 }) }] }
    }
  )
  server.registerTool(
    "plain_text",
    { description: "Answer with plain text", inputSchema: { name: z.string() } },
    async ({ name }) => {
      state.calls.push({ tool: "plain_text", args: { name } })
      return { content: [{ type: "text", text: `hello ${name}` }] }
    }
  )
  server.registerTool(
    "drifted",
    { description: "Answer with a shape that drifted from the contract", inputSchema: {} },
    async () => {
      state.calls.push({ tool: "drifted", args: {} })
      return { content: [{ type: "text", text: JSON.stringify({ items: [{ name: "a" }, { name: 42 }] }) }] }
    }
  )
  server.registerTool(
    "fail",
    { description: "Answer with isError", inputSchema: { text: z.string() } },
    async ({ text }) => {
      state.calls.push({ tool: "fail", args: { text } })
      return { isError: true, content: [{ type: "text", text }] }
    }
  )
  server.registerTool(
    "hang",
    { description: "Never answer", inputSchema: {} },
    async (_args, extra) => {
      state.calls.push({ tool: "hang", args: {} })
      state.hangSignals.push(extra.signal)
      return new Promise<never>(() => {})
    }
  )
  server.registerTool(
    "slow",
    { description: "Answer when the test says so, sending progress on demand", inputSchema: {} },
    async (_args, extra) => {
      state.calls.push({ tool: "slow", args: {} })
      const token = extra._meta?.progressToken
      let step = 0
      return new Promise((resolve) => {
        state.slow.push({
          progress: () =>
            token === undefined
              ? Promise.resolve()
              : extra.sendNotification({
                method: "notifications/progress",
                params: { progressToken: token, progress: ++step, total: 10, message: `step ${step}` }
              }),
          finish: () => resolve({ content: [{ type: "text", text: JSON.stringify({ steps: step }) }] })
        })
      })
    }
  )
  return server
}
