"""fewer_collections: the collector's threshold is raised inside, and restored after."""

from __future__ import annotations

import gc

import pytest

from custody.bulkgc import GEN0_THRESHOLD, fewer_collections


def test_the_threshold_is_raised_inside_and_restored_after_nested_blocks_and_errors() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(GEN0_THRESHOLD, before[0]), *before[1:])
        with pytest.raises(ValueError, match="bad record"), fewer_collections():
            raise ValueError("bad record")
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD  # the outer block still holds it
    assert gc.get_threshold() == before


def test_an_importer_runs_with_fewer_collections() -> None:
    seen: list[int] = []

    @fewer_collections()
    def importer() -> None:
        seen.append(gc.get_threshold()[0])

    importer()
    assert seen == [max(GEN0_THRESHOLD, gc.get_threshold()[0])]
