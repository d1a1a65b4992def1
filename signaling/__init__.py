"""WebRTC signaling: who may connect to whom (the rules are in facilitation/media.py), the
registry of media peers across workers, the relay of offers, answers and ICE candidates,
ICE/TURN settings with time-limited TURN credentials, and the plenary stage (a server-side
aiortc peer that decodes each published stream once, encodes it once and forwards the same
packets to every listener; not yet wired to the socket layer)."""
