"""Testing aids: what the test suites and lunatik-check use around the
library.

    model.py          the reference model (tables of states, stock Lua)
    scenarios.py      lunatik-check's built-in and user scenarios
    pytest_plugin.py  the `lunatik` pytest plugin (fixtures, --lunatik-trace)
    faultinject.py    failing allocations on purpose (BPF)
    vm.py             the virtme-ng harness (python -m lunatik_bpf.testing.vm)
    debugkernel.py    the debug kernel's checkers and kmemleak, in the guest
"""
