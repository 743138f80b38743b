#!/usr/bin/env node
// The command runner MCP server over stdio (`mcpflow-command-runner --root . --allow npm,node`):
// runs the compiled server from dist/ (`npm run build`).
import "../dist/src/runtime/servers/commandRunner/Bin.js"
