/** Version of this agent build, reported in `hello` and shown in the console. */
export const AGENT_VERSION = '0.1.0';
