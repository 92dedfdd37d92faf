// The line a stream source writes after a peer's FIN once all it sent is safely queued.
//
// A killed process's kernel closes its sockets with a FIN too, so a plain close cannot tell
// a sender that its messages are safe; this line can. Syslog clients ignore what the server
// writes; `sluice send --confirm-every` waits for it.

export const CLOSE_CONFIRMATION = 'sluice: queued\n';
