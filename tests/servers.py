"""Servers for tests and benchmarks: a real OpenAI-compatible server, a deliberately faulty one, and PostgreSQL.

- :func:`start_llama_server` runs llama.cpp's server (``llama-cpp-python[server]``) on 127.0.0.1 hosting the
  embedded SmolLM2 GGUF, and waits until ``/v1/models`` answers. The ``openai`` client talks to it exactly as
  to any other endpoint.
- :class:`FaultServer` is a tiny ``http.server`` in a thread that plays a script of misbehaviours (sleep past
  the timeout, 429, 500, a malformed body, ...) before answering like a chat-completions endpoint.
- :func:`start_postgres` runs a throwaway PostgreSQL cluster from Debian's ``postgresql`` package
  (``/usr/lib/postgresql/<version>/bin``): ``initdb`` into a temporary directory, ``pg_ctl start`` listening on a
  unix socket in that directory only (no TCP), trust authentication for its superuser ``cft``. PostgreSQL refuses
  to run as root, so as root (CI) the cluster runs as the ``postgres`` system user that the package creates
  (``setpriv``; ``useradd --system postgres`` first if it is missing).
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import free_port

MODEL_ALIAS = "smollm2"


def closed_port() -> int:
    """A port nothing listens on (bound then released): connections to it are refused."""
    return free_port()


def gguf_path() -> Path:
    from cft.models import EMBEDDED_DIST, EMBEDDED_GGUF
    from cft.system import asset_path

    return Path(asset_path(EMBEDDED_DIST, EMBEDDED_GGUF))


@dataclass
class LlamaServer:
    proc: subprocess.Popen
    port: int
    log_path: Path
    model: str = MODEL_ALIAS

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(os.getpgid(self.proc.pid), signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(self.proc.pid), signal.SIGKILL)
                self.proc.wait(timeout=5)


def start_llama_server(log_dir: Path, *, n_ctx: int = 2048, n_threads: int = 1,
                       timeout: float = 120.0) -> LlamaServer:
    """One thread by default: on a shared 2-core machine llama.cpp's spinning threads slow ~10x when another
    process holds a core (measured 2.7 s vs 29 s for one short reply)."""
    port = free_port()
    log_path = Path(log_dir) / f"llama-server-{port}.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads),
            "--n_threads_batch", str(n_threads)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    server = LlamaServer(proc, port, log_path)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"llama.cpp server did not answer within {timeout} s: {log_path.read_text()[-2000:]}")


# --------------------------------------------------------------------------------------------- faults


def completion_body(text: str, tokens_in: int = 11, tokens_out: int = 7) -> dict:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "fault",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
    }


@dataclass
class FaultServer:
    """Answers POST /v1/chat/completions, first playing ``script`` (one action per request), then ``default``.

    Actions: ``"ok"``, ``"sleep"`` (longer than any test timeout), ``"429"``, ``"500"``, ``"503"``,
    ``"malformed"`` (a JSON content type with a broken body), ``"text"`` (a 200 with text/plain),
    ``"no_choices"`` (valid JSON, not a completion), ``"401"``, and ``"echo_400"`` / ``"echo_401"`` / ``"echo_500"``
    (an error whose body, like some real endpoints', repeats the Authorization header it got).
    """

    script: list[str] = field(default_factory=list)
    default: str = "ok"
    reply: str = "The solution is fine.\n\nConclusion: right [END]"
    sleep_s: float = 3.0
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json", headers: dict | None = None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fault", "object": "model"}]}).encode())

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with outer.lock:
                    action = outer.script.pop(0) if outer.script else outer.default
                    outer.requests.append({"action": action, "payload": payload,
                                           "authorization": self.headers.get("Authorization")})
                if action == "sleep":
                    time.sleep(outer.sleep_s)
                    action = "ok"
                if action == "ok":
                    self._send(200, json.dumps(completion_body(outer.reply)).encode())
                elif action in ("429", "500", "503", "401"):
                    headers = {"Retry-After": "0"} if action == "429" else None
                    self._send(int(action), json.dumps({"error": {"message": f"fault {action}"}}).encode(),
                               headers=headers)
                elif action.startswith("echo_"):
                    auth = self.headers.get("Authorization") or ""
                    body = {"error": {"message": f"Incorrect API key provided: {auth.removeprefix('Bearer ')}",
                                      "headers": {"Authorization": auth}}}
                    self._send(int(action[5:]), json.dumps(body).encode())
                elif action == "malformed":
                    self._send(200, b'{"id": "chatcmpl-x", "choices": [')
                elif action == "text":
                    self._send(200, b"<html>proxy error</html>", ctype="text/html")
                elif action == "no_choices":
                    self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
                else:
                    raise ValueError(action)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def actions(self) -> list[str]:
        with self.lock:
            return [r["action"] for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------- postgres


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with the server in it."""
    found = sorted((p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql/*/bin: install Debian's postgresql "
                           "package (bash scripts/setup.sh --dev does)")
    return found[-1]


def _as_server_user() -> tuple[list[str], int, int]:
    """The command prefix that runs the server's tools as a non-root user, with that user's uid and gid."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
                       check=True, capture_output=True)
        entry = pwd.getpwnam("postgres")
    return (["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"],
            entry.pw_uid, entry.pw_gid)


@dataclass
class PostgresServer:
    root: Path
    port: int
    bin: Path
    prefix: list[str]
    database: str = "cft"

    def url(self, database: str | None = None, schema: str | None = None) -> str:
        """A libpq URL to the server's socket; ``schema`` becomes the search_path (a test's own namespace)."""
        url = f"postgresql://cft@/{database or self.database}?host={self.root}&port={self.port}"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")

    def execute(self, sql: str, database: str | None = None) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                        "stop"], capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(*, timeout: float = 120.0, settings: dict[str, str] | None = None) -> PostgresServer:
    """A fresh cluster with an empty database ``cft``. ``settings``: extra ``-c name=value`` server settings
    (tests pass fsync=off: a throwaway cluster needs no crash safety)."""
    bin_dir = postgres_bin()
    prefix, uid, gid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="cft-pg-"))  # short: a socket path must fit in 107 bytes
    os.chown(root, uid, gid)
    log = root / "server.log"
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "cft", "--auth=trust",
                        "-E", "UTF8", "--no-locale"], check=True, capture_output=True, cwd=root, timeout=timeout)
        port = free_port()
        options = f"-k {root} -p {port} -c listen_addresses=''" + "".join(
            f" -c {k}={v}" for k, v in (settings or {}).items())
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(log), "-w",
                        "-t", str(int(timeout)), "-o", options, "start"], check=True, capture_output=True, cwd=root,
                       timeout=timeout + 10)
        server = PostgresServer(root, port, bin_dir, prefix)
        try:
            server.execute("CREATE DATABASE cft", database="postgres")
        except Exception as exc:  # noqa: BLE001 - running but unusable: stop it, then say why
            tail = log.read_text()[-2000:] if log.exists() else ""
            server.stop()
            raise RuntimeError(f"PostgreSQL started but refused CREATE DATABASE ({exc}): {tail}") from exc
        return server
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start ({exc}): {detail.decode(errors='replace')[-2000:]} {tail}")
