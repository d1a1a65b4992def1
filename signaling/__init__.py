"""WebRTC signaling: relay between peers allowed to see each other, ICE/TURN settings,
server-side peers. Built in the audio and video issue; empty until then."""
