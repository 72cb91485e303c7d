"""map_halves: the same results as one process, the same errors, and no trust in the child."""

from __future__ import annotations

import os
import threading

import pytest

from custody import parallel
from custody.errors import FormatError
from custody.parallel import map_halves

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="this system does not fork (or has one core)")


def _square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def test_results_come_back_in_order_with_the_last_part_from_a_child() -> None:
    items = list(range(1000))
    results = map_halves(_square_and_pid, items)
    assert [square for square, _ in results] == [n * n for n in items]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid()
    assert pids[-1] != os.getpid()  # computed in the forked child
    assert pids.count(os.getpid()) == 1000 - int(1000 * parallel.CHILD_SHARE)


def test_a_result_of_many_pipe_buffers_comes_back_whole() -> None:
    # Several times the widened pipe buffer: the child blocks on writing until this process reads.
    call = parallel.ForkedCall(lambda: [os.getpid(), os.urandom(3 * parallel.PIPE_BYTES + 17)])
    pid, data = call.result()
    assert pid != os.getpid()
    assert len(data) == 3 * parallel.PIPE_BYTES + 17


def test_few_items_stay_in_this_process() -> None:
    results = map_halves(_square_and_pid, list(range(parallel.MIN_ITEMS - 1)))
    assert {pid for _, pid in results} == {os.getpid()}


def test_an_error_in_the_childs_half_is_raised_as_the_function_raises_it() -> None:
    def check(value: int) -> int:
        if value == 900:
            raise FormatError(f"record {value} is malformed", hint="look at record 900")
        return value

    with pytest.raises(FormatError, match="record 900 is malformed") as raised:
        map_halves(check, list(range(1000)))
    assert raised.value.hint == "look at record 900"


def test_an_error_in_this_half_stops_the_child() -> None:
    def check(value: int) -> int:
        if value == 3:
            raise FormatError("record 3 is malformed")
        return value

    with pytest.raises(FormatError, match="record 3"):
        map_halves(check, list(range(1000)))
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the child was reaped, not left as a zombie


def test_a_child_that_dies_is_replaced_by_this_process() -> None:
    parent = os.getpid()

    def die_in_the_child(value: int) -> int:
        if os.getpid() != parent:
            os._exit(3)  # e.g. killed by the OOM killer
        return value + 1

    assert map_halves(die_in_the_child, list(range(600))) == list(range(1, 601))


def test_a_process_with_other_threads_does_not_fork() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results = map_halves(_square_and_pid, list(range(1000)))
    finally:
        stop.set()
        other.join()
    assert {pid for _, pid in results} == {os.getpid()}
