"""The kernel backend: the module's generic-netlink family "lunatik"
(kernel/netlink.h) through pyroute2.

    connect("kernel")

Names go out as their raw bytes plus one NUL, so the kernel's policy is
what checks them (NUL inside, length); errors come back as the netlink
errno with the module's extack message and map to exceptions through
errors.py, like the user backend's.

Each thread gets its own netlink socket (pyroute2 sockets belong to the
thread that made them), so threads sharing one backend run their requests
in parallel in the kernel, as the family allows.
"""
from __future__ import annotations

import errno as _errno
import threading
from dataclasses import fields, replace
from typing import Any

from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket

from ..errors import LUA_OK, RESULT_MAX, LunatikError, from_errno, from_lua_status, result_too_large
from ..types import PARAMETERS, Limits, StateInfo, decode_text

# ---- mirror of kernel/netlink.h (tests/kernel/test_uapi.py compares) ----
GENL_NAME = "lunatik"
GENL_VERSION = 1
NL_CODE_MAX = 65531
NL_RESULT_MAX = RESULT_MAX

CMD_NEW = 1
CMD_CLOSE = 2
CMD_LOOKUP = 3
CMD_EXECUTE = 4
CMD_LIST = 5
CMD_CLOSE_ALL = 6

ATTRS: tuple[tuple[str, str], ...] = (
    ("LUNATIK_ATTR_UNSPEC", "none"),       # 0
    ("LUNATIK_ATTR_NAME", "cdata"),        # 1 bytes + NUL
    ("LUNATIK_ATTR_MAXALLOC", "uint64"),   # 2
    ("LUNATIK_ATTR_CURRALLOC", "uint64"),  # 3
    ("LUNATIK_ATTR_USERS", "uint32"),      # 4
    ("LUNATIK_ATTR_CODE", "cdata"),        # 5
    ("LUNATIK_ATTR_STATUS", "uint32"),     # 6
    ("LUNATIK_ATTR_RESULT", "cdata"),      # 7 text + NUL
    ("LUNATIK_ATTR_RESULT_LEN", "uint64"),  # 8
    ("LUNATIK_ATTR_COUNT", "uint32"),      # 9
    ("LUNATIK_ATTR_PAD", "none"),          # 10
)
# ---- end of the mirror ----


class LunatikMsg(genlmsg):
    """A lunatik request or reply: genl header + the attributes above."""
    nla_map = ATTRS


ATTR_UNKNOWN = 42   # above LUNATIK_ATTR_MAX: for the bad-input tests


class RawMsg(genlmsg):
    """Every attribute as raw bytes (and one the family does not know): what
    the bad-input tests send to see the kernel's policy at work."""
    nla_map = tuple((i, name, "cdata") for i, (name, _) in enumerate(ATTRS)
                    ) + ((ATTR_UNKNOWN, "LUNATIK_ATTR_UNKNOWN", "cdata"),)


def _strip_nul(raw: bytes) -> bytes:
    return raw[:-1] if raw.endswith(b"\0") else raw


def _info_of(msg: Any) -> StateInfo:
    return StateInfo(
        name=decode_text(_strip_nul(msg.get_attr("LUNATIK_ATTR_NAME"))),
        maxalloc=msg.get_attr("LUNATIK_ATTR_MAXALLOC"),
        curralloc=msg.get_attr("LUNATIK_ATTR_CURRALLOC"),
        users=msg.get_attr("LUNATIK_ATTR_USERS"))


class KernelError(LunatikError):
    """A netlink error that is not one of the control plane's errnos."""


class KernelBackend:
    """The control plane of the loaded lunatik module, over netlink."""

    name = "kernel"

    def __init__(self) -> None:
        self._local = threading.local()
        self._sockets: list[GenericNetlinkSocket] = []
        self._sockets_lock = threading.Lock()
        self._socket()      # fail now if the family is not there

    # ---- transport ----
    def _socket(self) -> GenericNetlinkSocket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = GenericNetlinkSocket(ext_ack=True)
            try:
                sock.bind(GENL_NAME, LunatikMsg)
            except NetlinkError as exc:
                sock.close()
                if exc.code == _errno.ENOENT:
                    raise KernelError(
                        "no generic netlink family 'lunatik': is the module "
                        "loaded?", errno=exc.code) from None
                raise
            self._local.sock = sock
            with self._sockets_lock:
                self._sockets.append(sock)
        return sock

    def request(self, cmd: int, attrs: list[tuple[str, Any]], *,
                dump: bool = False, version: int = GENL_VERSION,
                reserved: int = 0, raw: bool = False) -> list[Any]:
        """Sends one request; returns the replies (raises NetlinkError).
        Public for the bad-input tests, which send what the API would not
        (raw: every attribute value is bytes, see RawMsg)."""
        msg = RawMsg() if raw else LunatikMsg()
        msg["cmd"] = cmd
        msg["version"] = version
        msg["reserved"] = reserved
        msg["attrs"] = [list(a) for a in attrs]
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        sock = self._socket()
        return list(sock.nlm_request(msg, msg_type=sock.prid,
                                     msg_flags=flags))

    def _call(self, cmd: int, attrs: list[tuple[str, Any]], *, op: str,
              name: bytes | None = None, maxalloc: int | None = None,
              dump: bool = False) -> list[Any]:
        try:
            return self.request(cmd, attrs, dump=dump)
        except NetlinkError as exc:
            raise from_errno(exc.code, op=op, name=name,
                             maxalloc=maxalloc) from exc

    @staticmethod
    def _name_attr(name: bytes) -> tuple[str, bytes]:
        # One attribute carries at most 65531 bytes; the kernel refuses a
        # name of LUNATIK_NAME_MAXSIZE bytes or more anyway.
        if len(name) >= NL_CODE_MAX:
            raise from_errno(-_errno.ENAMETOOLONG, op="name", name=name)
        return ("LUNATIK_ATTR_NAME", bytes(name) + b"\0")

    # ---- the control plane ----
    def new(self, name: bytes, maxalloc: int) -> None:
        self._call(CMD_NEW, [self._name_attr(name),
                             ("LUNATIK_ATTR_MAXALLOC", maxalloc)],
                   op="new", name=name, maxalloc=maxalloc)

    def close(self, name: bytes) -> None:
        self._call(CMD_CLOSE, [self._name_attr(name)], op="close", name=name)

    def close_all(self) -> int:
        (reply,) = self._call(CMD_CLOSE_ALL, [], op="close_all")
        count: int = reply.get_attr("LUNATIK_ATTR_COUNT")
        return count

    def info(self, name: bytes) -> StateInfo | None:
        attr = self._name_attr(name)
        try:
            (reply,) = self.request(CMD_LOOKUP, [attr])
        except NetlinkError as exc:
            if exc.code == _errno.ENOENT:
                return None
            raise from_errno(exc.code, op="info", name=name) from exc
        return _info_of(reply)

    def list(self) -> list[StateInfo]:
        replies = self._call(CMD_LIST, [], op="list", dump=True)
        return [_info_of(m) for m in replies]

    def execute(self, name: bytes, code: bytes) -> bytes:
        if len(code) > NL_CODE_MAX:
            # the wire cannot carry it; answer what the module would, in its
            # order: the name first, then the state, then the chunk's size
            if self.info(name) is None:
                raise from_errno(-_errno.ENOENT, op="execute", name=name)
            raise from_errno(-_errno.E2BIG, op="execute", name=name)
        (reply,) = self._call(CMD_EXECUTE, [self._name_attr(name),
                                            ("LUNATIK_ATTR_CODE", code)],
                              op="execute", name=name)
        status: int = reply.get_attr("LUNATIK_ATTR_STATUS")
        text = _strip_nul(reply.get_attr("LUNATIK_ATTR_RESULT"))
        full: int = reply.get_attr("LUNATIK_ATTR_RESULT_LEN")
        if status != LUA_OK:
            raise from_lua_status(status, text.decode("utf-8", "replace"),
                                  name=name)
        if full > len(text):
            raise result_too_large(full, name)
        return text

    # ---- the module's parameters ----
    def limits(self) -> Limits | None:
        try:
            values = {f.name: int((PARAMETERS / f.name).read_text())
                      for f in fields(Limits)}
        except OSError:
            return None
        return Limits(**values)

    def set_limits(self, **changes: int) -> Limits:
        """Writes the module's limit parameters (root only); returns the old
        limits, for restoring them."""
        old = self.limits()
        if old is None:
            raise KernelError(f"cannot read {PARAMETERS}")
        new = replace(old, **changes)
        for f in fields(Limits):
            value = getattr(new, f.name)
            if value != getattr(old, f.name):
                (PARAMETERS / f.name).write_text(f"{value}\n")
        return old

    def live(self) -> tuple[int, int]:
        """(live_states, live_bytes): the module's own count of the states
        in its table and the sum of their curralloc."""
        return (int((PARAMETERS / "live_states").read_text()),
                int((PARAMETERS / "live_bytes").read_text()))

    def disconnect(self) -> None:
        with self._sockets_lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return "KernelBackend()"


def connect_kernel() -> KernelBackend:
    """open_backend's factory for "kernel"."""
    return KernelBackend()
