#!/usr/bin/env node
// Entry point of the `rmm` CLI. The sources are TypeScript run through tsx, so there is no build
// step between a checkout and a running server or agent.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
