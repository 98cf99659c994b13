"""The HTTP side: one threaded server, Twilio's auth, limits, faults and errors.

Order of events for a v1 request, chosen to mimic where each thing happens in
front of the real API: rate/concurrency limit -> latency -> fault (unless
after_effect) -> Basic auth -> route + handler -> after_effect fault -> record
-> answer. Paths under /_emulator/ go to the control endpoints instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import control, sids
from .api import dispatch
from .errors import ApiError, NotFound, Unauthorized, error_body, not_found
from .faults import Fault, FaultInjector
from .recording import RecordedRequest, RequestLog
from .reply import JSON, Reply
from .store import Store
from .throttle import Throttle


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str
    api_keys: Mapping[str, str] = field(default_factory=dict)  # SK... -> secret

    def accept(self, header: str | None) -> bool:
        """Basic auth with AccountSid:AuthToken or ApiKeySid:ApiKeySecret."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        if username == self.account_sid:
            return hmac.compare_digest(password, self.auth_token)
        secret = self.api_keys.get(username)
        return secret is not None and hmac.compare_digest(password, secret)


@dataclass
class ServerState:
    """Everything a request handler needs; owned by the Emulator."""

    store: Store
    credentials: Credentials
    faults: FaultInjector
    throttle: Throttle
    requests: RequestLog
    retry_after: bool
    stopping: threading.Event
    reset: Callable[[str | None], None]
    verbose: bool = False


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must never keep the process alive
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, dropped-connection faults) are normal here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session expects
    server_version = "TwilioServerlessEmulator/1.0"
    timeout = 30  # idle keep-alive connections give their thread back
    # Headers and body leave in separate writes; with Nagle on, each answer
    # would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.state.verbose:
            super().log_message(format, *args)

    # ----------------------------------------------------------------- flow

    def _handle(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        body = self._read_body()
        if path == "/_emulator" or path.startswith("/_emulator/"):
            self._send(control.handle(state, self.command, path, body))
            return
        form = self._form(body)
        reply = self._v1(state, path, query, form)
        # Recorded before answering: a client that has its answer must find
        # its request in the log.
        state.requests.append(
            RecordedRequest(
                method=self.command,
                path=path,
                query=query,
                form=form,
                headers=dict(self.headers.items()),
                status=0 if reply.drop else reply.status,
                response_body=b"" if reply.drop else reply.body,
            )
        )
        self._send(reply)

    def _v1(
        self,
        state: ServerState,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
    ) -> Reply:
        with state.throttle.admit() as refusal:
            if refusal is not None:
                headers = [("Retry-After", "1")] if state.retry_after else []
                return Reply.error(ApiError(refusal, status=429, code=20429), headers)
            self._pause(state.faults.latency_ms)
            fault = state.faults.take(self.command, path)
            if fault is not None and not fault.after_effect:
                self._pause(fault.delay_ms)
                if fault.drop_connection or fault.status is not None:
                    return _fault_reply(fault)
            reply = self._perform(state, path, query, form)
            if fault is not None and fault.after_effect:
                self._pause(fault.delay_ms)
                if fault.drop_connection or fault.status is not None:
                    return _fault_reply(fault)
            return reply

    def _perform(
        self,
        state: ServerState,
        path: str,
        query: dict[str, list[str]],
        form: dict[str, list[str]],
    ) -> Reply:
        request_id = [("Twilio-Request-Id", sids.random_sid(sids.REQUEST))]
        try:
            if not state.credentials.accept(self.headers.get("Authorization")):
                # Twilio's 401 carries a `detail` next to the usual fields.
                body = Unauthorized("Authenticate").body()
                body["detail"] = "Your AccountSid or AuthToken was incorrect."
                reply = Reply.json(401, body)
                reply.headers += [*request_id, ("WWW-Authenticate", 'Basic realm="Twilio API"')]
                return reply
            result = dispatch(
                state.store,
                method=self.command,
                path=path,
                query=query,
                form=form,
                base=self._base_url(),
            )
        except NotFound:
            # Twilio names the path, not the missing record.
            return Reply.error(not_found(path), request_id)
        except ApiError as error:
            return Reply.error(error, request_id)
        except Exception:
            traceback.print_exc()
            return Reply.json(500, error_body(500, 20500, "Internal Server Error"), request_id)
        if result.body is None:
            return Reply(result.status, b"", None, request_id)
        return Reply.json(result.status, result.body, request_id)

    # -------------------------------------------------------------- helpers

    def _pause(self, milliseconds: int) -> None:
        if milliseconds > 0:
            # An Event, not time.sleep: stop() wakes every delayed request.
            self.server.state.stopping.wait(milliseconds / 1000)

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        if not host:  # HTTP/1.0 clients may omit it
            address, port = self.server.socket.getsockname()[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _form(self, body: bytes) -> dict[str, list[str]]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not body or content_type not in ("", "application/x-www-form-urlencoded"):
            return {}
        return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.status != HTTPStatus.NO_CONTENT:
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and reply.status != HTTPStatus.NO_CONTENT:
            self.wfile.write(reply.body)


def _fault_reply(fault: Fault) -> Reply:
    if fault.drop_connection:
        return Reply(0, drop=True)
    status = fault.status if fault.status is not None else 503
    headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
    if fault.body == "html":
        phrase = _phrase(status)
        page = (
            f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return Reply(status, page.encode(), "text/html", headers)
    if fault.body == "malformed":
        return Reply(status, b'{"sid": "ZD", "account_sid": "AC', JSON, headers)
    if fault.body == "empty":
        return Reply(status, b"", JSON, headers)
    code = 20000 + status if 400 <= status < 600 else 20500
    return Reply.json(status, error_body(status, code, _phrase(status)), headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
