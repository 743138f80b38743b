#!/usr/bin/env node
// The mcpflow package ships TypeScript sources: register tsx, then load the CLI.
import { register } from "tsx/esm/api"

register()
await import("../src/app/cli/Cli.ts")
