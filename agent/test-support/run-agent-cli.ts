// Runs `agentCommand` as its own process, the way bin/rmm.js will, for the signal-handling test.
import { agentCommand } from '../cli';

process.exitCode = await agentCommand(process.argv.slice(2));
