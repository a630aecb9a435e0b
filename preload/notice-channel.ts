/* The one message the notice window's preload may send (no other dependency, so the preload stays tiny). */
export const NOTICE_CLOSE_CHANNEL = 'rmm:notice:close';
