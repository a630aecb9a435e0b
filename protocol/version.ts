/** Wire protocol version spoken between agent and server. Bumped on incompatible change. */
export const PROTOCOL_VERSION = 1;
/** Versions this build of the server accepts from agents. */
export const SUPPORTED_AGENT_PROTOCOL_VERSIONS: readonly number[] = [1];
/** Largest WebSocket message either endpoint accepts, in bytes (inventory of a big host fits easily). */
export const MAX_WS_MESSAGE_BYTES = 256 * 1024;
