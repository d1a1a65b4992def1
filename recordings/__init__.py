"""Server-side recording of expert slots. Built in the audio and video issue; empty until then."""
