"""Settings from the environment, each declared once with its help text."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from yarl import URL

SOURCE_ROOT = Path(__file__).resolve().parent.parent
SESSION_COOKIE = "forum_session"  # the signed-in browser's session token (pages and sockets)


def setting(env: str, default: Any, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "DATABASE_URL", "sqlite:///var/forum.db",
        "SQLAlchemy URL: sqlite:///path (default) or postgresql://user@host/db.")
    redis_url: str = setting(
        "REDIS_URL", "",
        "Redis URL. When set, socket.io broadcasts and presence go through Redis, so several "
        "worker processes share rooms. Empty: one process, in-memory.")
    redis_prefix: str = setting(
        "REDIS_PREFIX", "forum",
        "Prefix of this deployment's socket.io channel and keys in Redis, so several "
        "deployments (or test runs) can share one Redis without hearing each other.")
    worker_ttl: int = setting(
        "WORKER_TTL", 15,
        "With Redis: seconds a worker's heartbeat key outlives it. Each worker renews its key "
        "every third of this; what it holds for the others hangs on that one beat: its "
        "presence entries (swept by the others once its key expired, so a crashed worker's "
        "people leave within about 4/3 of this) and the plenary stages it owns (another "
        "worker takes a stage over once its owner key expired). At least 3.")
    secret_key: str = setting(
        "SECRET_KEY", "",
        "Secret for signing; required in production. Empty: a random key per start (dev only).")
    public_url: str = setting(
        "PUBLIC_URL", "",
        "The address people use, e.g. https://forum.example.org. Sign-in links use it and "
        "socket.io accepts only this origin. Empty: http://HOST:PORT.")
    host: str = setting("HOST", "127.0.0.1", "Address to listen on.")
    port: int = setting("PORT", 8080, "Port to listen on.")
    smtp_host: str = setting(
        "SMTP_HOST", "",
        "SMTP server for all e-mail (sign-in links, invitations, notices). Empty: every mail "
        "is written to the server log.")
    smtp_port: int = setting(
        "SMTP_PORT", 587,
        "SMTP port (TLS from the start on 465; elsewhere STARTTLS when the server offers it, "
        "and a password is never sent without it).")
    smtp_user: str = setting("SMTP_USER", "", "SMTP user name.")
    smtp_password: str = setting("SMTP_PASSWORD", "", "SMTP password.")
    mail_from: str = setting("MAIL_FROM", "forum@example.org", "Sender address of e-mails.")
    invitation_days: int = setting(
        "INVITATION_DAYS", 14, "How many days a sign-in link stays valid.")
    session_days: int = setting("SESSION_DAYS", 30, "How many days a browser stays signed in.")
    secure_cookies: bool = setting(
        "SECURE_COOKIES", False, "Mark cookies Secure (set when served over HTTPS).")
    max_message_bytes: int = setting(
        "MAX_MESSAGE_BYTES", 65536, "Largest socket.io message accepted, in bytes.")
    static_dir: str = setting(
        "STATIC_DIR", "", "Folder of the built browser bundle. Empty: static/dist in the source.")
    stun_urls: str = setting(
        "STUN_URLS", "",
        "Comma-separated STUN server URLs for the browsers' WebRTC connections, e.g. "
        "stun:turn.example.org:3478. Empty (with no TURN): host candidates only, never a "
        "public default.")
    turn_urls: str = setting(
        "TURN_URLS", "",
        "Comma-separated TURN server URLs, e.g. turn:turn.example.org:3478?transport=udp,"
        "turns:turn.example.org:443?transport=tcp. Needs TURN_SECRET.")
    turn_secret: str = setting(
        "TURN_SECRET", "",
        "The TURN server's shared secret (coturn's static-auth-secret): the server derives "
        "time-limited TURN credentials from it for each person.")
    turn_ttl: int = setting(
        "TURN_TTL", 3600,
        "How many seconds issued TURN credentials stay valid; clients refresh them earlier.")
    stage_max_publishers: int = setting(
        "STAGE_MAX_PUBLISHERS", 4,
        "How many people may publish audio and video to a gathering's plenary stage at once "
        "(runners, the expert in the spotlight, whoever has the floor); one more is refused.")
    media_engine: str = setting(
        "MEDIA_ENGINE", "aiortc",
        "What runs the plenary stage's media: `aiortc` (this process decodes each published "
        "stream once and encodes it once for every listener; nothing else to run) or `janus` "
        "(a Janus VideoRoom forwards the streams without transcoding; for plenaries with "
        "hundreds of listeners: see JANUS_URLS and the README).")
    janus_urls: str = setting(
        "JANUS_URLS", "",
        "With MEDIA_ENGINE=janus: the HTTP API address of each Janus instance, comma-separated "
        "(http://10.0.0.5:8088/janus). Each gathering's stage lives on one of them (the least "
        "loaded that answers); a Janus that stops answering loses its stages to the others.")
    janus_api_secret: str = setting(
        "JANUS_API_SECRET", "",
        "The API secret of the Janus instances (janus --apisecret). Only the forum's workers "
        "use Janus's API; browsers never see its address or this secret.")

    recordings_dir: str = setting(
        "RECORDINGS_DIR", "",
        "Folder for recorded expert slots (MP4), outside the source tree and never served as "
        "static files; downloads go through an authorised handler. Empty: "
        "$XDG_DATA_HOME/klimasats-forum/recordings (~/.local/share/... by default).")
    recording_retention_days: int = setting(
        "RECORDING_RETENTION_DAYS", 365,
        "Recordings are deleted this many days after they ended (checked hourly). 0: kept "
        "until the facilitator deletes them.")
    sign_in_records_days: int = setting(
        "SIGN_IN_RECORDS_DAYS", 90,
        "Expired or revoked sign-in links and expired sessions (when a person was invited and "
        "signed in) are deleted this many days after they ended (checked hourly). 0: kept.")
    metrics_token: str = setting(
        "METRICS_TOKEN", "",
        "Bearer token for Prometheus' scrapes of /metrics (sent as `Authorization: Bearer "
        "<token>`). Empty: /metrics is off (404).")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _convert(f.default, raw)
        values.update(overrides)
        return cls(**values)

    @property
    def recordings_path(self) -> Path:
        if self.recordings_dir:
            return Path(self.recordings_dir)
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data) / "klimasats-forum" / "recordings"

    @property
    def base_url(self) -> URL:
        return URL(self.public_url or f"http://{self.host}:{self.port}")

    @property
    def origin(self) -> str:
        url = self.base_url
        return str(url.origin()).rstrip("/")


def _convert(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


def describe() -> str:
    """Every setting with its variable, default and help: for `forum serve --help`."""
    lines = ["environment variables:"]
    for f in fields(Settings):
        lines.append(f"  {f.metadata['env']:<20} {f.metadata['help']} (default: {f.default!r})")
    return "\n".join(lines)
