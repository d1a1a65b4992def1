"""The live socket handlers: the one gate every socket.io event passes (sign-in, rate
budget, shape, rights, error codes), the command path's edge, and the shared notes, media
signaling, stage and reactions events."""
