"""The HTTP endpoints under `{base_url}ticketbooth/api/` (see docs/server.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from .._errors import InvalidInputError, TicketboothError, TicketNotFoundError
from .._static import RENDERERS, STATIC
from ._events import EventFeed
from ._source import StaleVersionError, parse_sort, parse_ticket

if TYPE_CHECKING:
    from ._app import Ticketbooth

T = TypeVar("T")
KEEPALIVE_S = 15.0
ARROW_STREAM = "application/vnd.apache.arrow.stream"
_GONE: dict[str, Any] = {"kind": "gone"}  # the client went away


def _int(handler: web.RequestHandler, name: str, default: int | None) -> int | None:
    text = handler.get_query_argument(name, None)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInputError(f"{name} must be an integer, not {text[:40]!r}") from None


class _Base(APIHandler):
    @property
    def tb(self) -> Ticketbooth:
        app: Ticketbooth = self.settings["ticketbooth"]
        return app

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (gRPC, sorting) off the event loop, whose broker must answer."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def fail(self, exc: BaseException) -> None:
        status, extra = 500, {}
        if isinstance(exc, StaleVersionError):
            status, extra = 409, {"version": exc.current}
        elif isinstance(exc, TicketNotFoundError):
            status = 404
        elif isinstance(exc, InvalidInputError):
            status = 400
        elif isinstance(exc, TicketboothError):
            status = 503
        else:
            self.log.exception("ticketbooth: %s failed", self.request.path)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": str(exc) or type(exc).__name__, **extra}))

    def send_json(self, value: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(value))


class StatusHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        self.send_json(await self.blocking(self.tb.status))


class ObjectsHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        try:
            objects = await self.blocking(self.tb.source.objects)
        except Exception as exc:
            return self.fail(exc)
        self.send_json({"objects": objects})


class ObjectHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        try:
            ticket = parse_ticket(self.get_query_argument("ticket", None))
            self.send_json(await self.blocking(self.tb.source.object, ticket))
        except Exception as exc:
            self.fail(exc)


class WindowHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        try:
            ticket = parse_ticket(self.get_query_argument("ticket", None))
            start = _int(self, "start", 0) or 0
            end = _int(self, "end", start + 200) or 0
            version = _int(self, "version", None)
            sort = parse_sort(self.get_query_argument("sort", None))
            args = (ticket, start, end, sort, version)
            window = self.tb.source.held_window(*args)
            if window is None:  # not held here, or sorted: the broker is asked, off the loop
                window = await self.blocking(self.tb.source.window, *args)
        except Exception as exc:
            return self.fail(exc)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Ticketbooth-Version", str(window.version))
        self.set_header("X-Ticketbooth-Rows", str(window.num_rows))
        self.set_header("X-Ticketbooth-Row-Start", str(window.row_start))
        self.set_header("X-Ticketbooth-Row-End", str(window.row_end))
        # the time from the request's headers read to its answer made (the browser's Resource
        # Timing shows it, to tell the server's part of a window's wait from the network's)
        self.set_header("Server-Timing", f"window;dur={self.request.request_time() * 1e3:.2f}")
        self.finish(window.data, set_content_type=ARROW_STREAM)  # APIHandler's default is JSON


class ReleaseHandler(_Base):
    @web.authenticated
    async def post(self) -> None:
        try:
            ticket = parse_ticket(self.get_query_argument("ticket", None))
            if self.tb.broker is not None:  # its store lives on this loop
                self.tb.release(ticket)
            else:
                await self.blocking(self.tb.release, ticket)
        except PermissionError as exc:
            self.set_status(403)
            return self.send_json({"error": str(exc)})
        except Exception as exc:
            return self.fail(exc)
        self.set_status(204)
        self.finish()


class RendererHandler(_Base):
    @web.authenticated
    async def get(self, name: str) -> None:
        if name not in RENDERERS:
            self.set_status(404)
            return self.send_json({"error": f"no renderer {name!r}; known: {sorted(RENDERERS)}"})
        path = STATIC / RENDERERS[name]
        if not path.exists():
            self.set_status(404)
            return self.send_json({"error": f"{path} is missing: the widget was not built"})
        self.finish(path.read_bytes(), set_content_type="text/javascript; charset=utf-8")


class EventsHandler(_Base):
    """Server-sent events: every change of the named objects, or of one `?ticket=`."""

    @web.authenticated
    async def get(self) -> None:
        try:
            text = self.get_query_argument("ticket", None)
            ticket = parse_ticket(text) if text else None
            session = await self.blocking(lambda: self.tb.source.session)
        except Exception as exc:
            return self.fail(exc)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx / jupyter-server-proxy: no buffering
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queue = queue
        feed = EventFeed(session, ticket, asyncio.get_running_loop(), queue)
        self.tb.feeds.add(feed)
        try:
            self.write(": ticketbooth events\n\n")
            await self.flush()
            while not self.tb.stopping:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    self.write(": keep-alive\n\n")
                else:
                    if event is _GONE:
                        break
                    self.write(f"event: change\ndata: {json.dumps(event)}\n\n")
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            feed.close()
            self.tb.feeds.discard(feed)
        if not self._finished:
            self.finish()

    def on_connection_close(self) -> None:
        queue = getattr(self, "_queue", None)
        if queue is not None:
            queue.put_nowait(_GONE)


def handlers(base: str = "ticketbooth/api") -> list[tuple[str, type[web.RequestHandler]]]:
    return [
        (url_path_join(base, "status"), StatusHandler),
        (url_path_join(base, "objects"), ObjectsHandler),
        (url_path_join(base, "object"), ObjectHandler),
        (url_path_join(base, "window"), WindowHandler),
        (url_path_join(base, "events"), EventsHandler),
        (url_path_join(base, "release"), ReleaseHandler),
        (url_path_join(base, r"renderer/([a-z]+)"), RendererHandler),
    ]
