"""Server-side recording of expert slots: `recorder.Recorder` writes the decoded audio and
video it is handed to an MP4 file off the event loop; `storage` names files unguessably and
keeps them outside the source tree. The stage feeds it (server/stage_recordings.py); the
rows are rooms/recordings.py, the download and delete handlers server/recordings.py."""
