"""The epoch order: disjoint and complete shards, mixed batches, seeded, resumable (no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from slidepatch.pools._stream_order import (
    Balance,
    Mixing,
    ShardOrder,
    epoch_order,
    rank_order,
    round_robin,
    shard_of,
    shard_order,
)

COUNTS = [37, 0, 120, 5, 64, 1, 90]
MIXED = Mixing(open_slides=4, patches_per_visit=16, shuffle_buffer=4096, shuffle=True)


def _keys(order: ShardOrder) -> list[tuple[int, int]]:
    return list(zip(order.slide.tolist(), order.index.tolist(), strict=True))


def _all(counts: list[int]) -> set[tuple[int, int]]:
    return {(s, i) for s, c in enumerate(counts) for i in range(c)}


@pytest.mark.parametrize("mixing", [Mixing(), MIXED], ids=["ordered", "mixed"])
@pytest.mark.parametrize("counts", [COUNTS, [7], [3, 2]], ids=["7 slides", "1 slide", "2 slides"])
def test_shards_are_disjoint_and_complete_for_every_world_size_and_worker_count(
    mixing: Mixing, counts: list[int]
) -> None:
    for world_size in (1, 2, 3, 4):
        for workers in (0, 1, 2, 3):
            per_rank = max(1, workers)
            seen: list[tuple[int, int]] = []
            sizes = []
            for rank in range(world_size):
                for worker in range(per_rank):
                    shard, num_shards = shard_of(
                        rank=rank, world_size=world_size, worker=worker, num_workers=per_rank
                    )
                    order = shard_order(
                        counts=counts,
                        seed=3,
                        epoch=1,
                        shard=shard,
                        num_shards=num_shards,
                        mixing=mixing,
                    )
                    seen.extend(_keys(order))
                    sizes.append(len(order))
            assert len(seen) == len(set(seen)) == sum(counts)
            assert set(seen) == _all(counts)
            assert max(sizes) - min(sizes) <= 1  # balanced, even with more shards than slides


def test_unmixed_order_is_input_order() -> None:
    order = shard_order(counts=COUNTS, seed=0, epoch=0, shard=0, num_shards=1, mixing=Mixing())
    assert _keys(order) == [(s, i) for s, c in enumerate(COUNTS) for i in range(c)]


def test_a_batch_of_64_from_100_slides_holds_many_slides() -> None:
    counts = [200] * 100
    order = shard_order(counts=counts, seed=1, epoch=0, shard=0, num_shards=1, mixing=MIXED)
    per_batch = [len(set(order.slide[k : k + 64].tolist())) for k in range(0, len(order), 64)]
    assert min(per_batch[:-1]) >= 8 and float(np.median(per_batch)) >= 15
    plain = shard_order(counts=counts, seed=1, epoch=0, shard=0, num_shards=1, mixing=Mixing())
    assert max(len(set(plain.slide[k : k + 64].tolist())) for k in range(0, 64 * 50, 64)) <= 2
    # Visits without a shuffle buffer: runs of 16 from 4 open slides.
    visits = Mixing(open_slides=4, patches_per_visit=16, shuffle=True)
    runs = shard_order(counts=counts, seed=1, epoch=0, shard=0, num_shards=1, mixing=visits)
    changes = int(np.count_nonzero(np.diff(runs.slide[:3200])))
    assert 3200 // 48 < changes <= 3200 // 8  # visits of 16 (8 at a slide's end), 1 in 4 repeats
    assert len(set(runs.slide[:640].tolist())) >= 4


def test_same_seed_and_epoch_same_order_other_epoch_or_seed_another() -> None:
    def order(seed: int, epoch: int, shard: int = 1) -> list[tuple[int, int]]:
        return _keys(
            shard_order(
                counts=COUNTS, seed=seed, epoch=epoch, shard=shard, num_shards=3, mixing=MIXED
            )
        )

    assert order(5, 2) == order(5, 2)
    assert order(5, 2) != order(5, 3)
    assert order(5, 2) != order(6, 2)
    assert order(5, 2, shard=0) != order(5, 2, shard=1)


def test_resume_after_k_batches_yields_exactly_the_rest() -> None:
    counts = [300, 250, 100]
    full = shard_order(counts=counts, seed=9, epoch=4, shard=1, num_shards=2, mixing=MIXED)
    batch = 32
    for k in (0, 1, 5, len(full) // batch):
        again = shard_order(counts=counts, seed=9, epoch=4, shard=1, num_shards=2, mixing=MIXED)
        rest = again.skip(k * batch)
        assert _keys(full)[: k * batch] + _keys(rest) == _keys(full)


def test_round_robin_follows_the_dataloader_turns() -> None:
    # Worker 0 makes 3 batches of 4 (10 patches), worker 1 one batch (2 patches).
    assert round_robin(counts=[10, 2], batch_size=4, batches=0)[0] == [0, 0]
    assert round_robin(counts=[10, 2], batch_size=4, batches=1)[0] == [4, 0]
    assert round_robin(counts=[10, 2], batch_size=4, batches=2)[0] == [4, 2]
    assert round_robin(counts=[10, 2], batch_size=4, batches=3)[0] == [8, 2]
    assert round_robin(counts=[10, 2], batch_size=4, batches=4)[0] == [10, 2]
    assert round_robin(counts=[10, 2, 9], batch_size=4, batches=4) == ([8, 2, 4], 1)
    assert round_robin(counts=[10, 2, 9], batch_size=4, batches=5) == ([8, 2, 8], 0)
    with pytest.raises(ValueError, match="only 4"):
        round_robin(counts=[10, 2], batch_size=4, batches=5)


def test_weighted_epochs_follow_label_weights_and_stay_disjoint_across_shards() -> None:
    labels = [["a"] * 100 + ["b"] * 100, ["b"] * 50]
    balance = Balance(label_weights={"a": 3.0, "b": 1.0}, epoch_size=4000)
    parts = [
        epoch_order(
            labels=labels, seed=2, epoch=0, shard=k, num_shards=3, mixing=MIXED, balance=balance
        )
        for k in range(3)
    ]
    slides = np.concatenate([p.slide for p in parts])
    index = np.concatenate([p.index for p in parts])
    assert slides.size == 4000
    is_a = (slides == 0) & (index < 100)
    assert 0.63 < is_a.mean() < 0.70  # label a holds 300 of the 450 units of weight
    whole = epoch_order(
        labels=labels, seed=2, epoch=0, shard=0, num_shards=1, mixing=MIXED, balance=balance
    )
    assert sorted(_keys(whole)) == sorted(zip(slides.tolist(), index.tolist(), strict=True))
    only_b = epoch_order(
        labels=labels,
        seed=2,
        epoch=0,
        shard=0,
        num_shards=1,
        mixing=Mixing(),
        balance=Balance(label_weights={"b": 1.0}),
    )
    assert not np.any((only_b.slide == 0) & (only_b.index < 100))
    slide_w = epoch_order(
        labels=labels,
        seed=2,
        epoch=0,
        shard=0,
        num_shards=1,
        mixing=Mixing(),
        balance=Balance(slide_weights=(0.0, 1.0)),
    )
    assert set(slide_w.slide.tolist()) == {1} and len(slide_w) == 250
    with pytest.raises(ValueError, match="all zero"):
        epoch_order(
            labels=labels,
            seed=2,
            epoch=0,
            shard=0,
            num_shards=1,
            mixing=Mixing(),
            balance=Balance(label_weights={"c": 1.0}),
        )


def test_bad_mixing_and_shards_are_refused() -> None:
    with pytest.raises(ValueError, match="open_slides"):
        Mixing(open_slides=0)
    with pytest.raises(ValueError, match="shuffle=True"):
        Mixing(shuffle_buffer=100)
    with pytest.raises(ValueError, match="rank"):
        shard_of(rank=2, world_size=2, worker=0, num_workers=1)


@pytest.mark.parametrize("counts", [COUNTS, [7], [500, 3, 260]], ids=["7", "1", "3"])
def test_stream_rank_order_gives_each_batch_to_one_process(counts: list[int]) -> None:
    batch = 16
    for world_size in (1, 2, 3, 4):
        seen: list[tuple[int, int]] = []
        for rank in range(world_size):
            for procs in (1, 2, 3):
                order = rank_order(
                    counts=counts,
                    seed=1,
                    epoch=0,
                    rank=rank,
                    world_size=world_size,
                    num_workers=procs,
                    batch_size=batch,
                    mixing=MIXED,
                )
                owners: dict[int, set[tuple[int, int]]] = {}
                for j in range(0, len(order), batch):
                    keys = _keys(order)[j : j + batch]
                    owners.setdefault((j // batch) % procs, set()).update(keys)
                # The processes' patches are disjoint, so none reads another's patches...
                parts = list(owners.values())
                assert sum(map(len, parts)) == len(set().union(*parts)) == len(order)
                # ... and the order is the rank's part, for every process count.
                same = shard_order(
                    counts=counts,
                    seed=1,
                    epoch=0,
                    shard=rank,
                    num_shards=world_size,
                    mixing=MIXED,
                )
                assert sorted(_keys(order)) == sorted(_keys(same))
            seen.extend(_keys(order))
        assert len(seen) == len(set(seen)) == sum(counts)
