"""The control plane: named Lua states driven through a backend.

    api.py        connect() and States, what a program calls
    types.py      the values exchanged (StateInfo, Limits, names as bytes),
                  the module's name and its sysfs directory
    errors.py     the exception tree and the one errno/status mapping
    backends/     "user" (ctypes on liblunatik.so), "kernel" (generic netlink)
"""
