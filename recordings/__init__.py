"""Server-side recording of expert slots: `recorder.Recorder` writes the decoded audio and
video it is handed to an MP4 file off the event loop; `storage` names files unguessably and
keeps them outside the source tree; `archive` keeps their rows; the stage's owner feeds the
recorder (`stage_tap`); `retention` deletes old ones. The download and delete handlers are
server/pages/recordings.py."""
