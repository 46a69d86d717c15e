"""The PyTorch adapter: each patch exactly once across DataLoader workers, correct pixels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from slidepatch import PatchSet
from slidepatch.slide.slide import Slide

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from slidepatch.torchdata import PatchIterableDataset, shard_slides  # noqa: E402

SIZE = 64


def _grid(path: Path, *, step: int, limit: tuple[int, int], level: int = 0) -> PatchSet:
    data = [
        ((x, y), (SIZE, SIZE), ("tumor", "normal", "stroma")[(x // step + y // step) % 3])
        for y in range(0, limit[1] - SIZE, step)
        for x in range(0, limit[0] - SIZE, step)
    ]
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=level, patch_data=data)


@pytest.fixture(scope="module")
def torch_sets(synthetic_svs: Path, synthetic_tiff: Path, cmu_small: Path) -> list[PatchSet]:
    return [
        _grid(synthetic_svs, step=250, limit=(3000, 2000)),
        _grid(synthetic_tiff, step=300, limit=(2100, 1500)),
        _grid(cmu_small, step=400, limit=(2220, 2967)),
        _grid(synthetic_svs, step=120, limit=(750, 500), level=1),
    ]


def _read(ps: PatchSet, i: int) -> np.ndarray:
    with Slide.open(ps.slide_path) as slide:
        return slide.read_region((int(ps.x[i]), int(ps.y[i])), ps.level_or_mpp, (SIZE, SIZE))


def test_dataloader_with_two_workers_delivers_each_patch_once(torch_sets: list[PatchSet]) -> None:
    dataset = PatchIterableDataset(patches_pool=torch_sets, thread_num_workers=2, chunk_size=16)
    total = sum(len(ps) for ps in torch_sets)
    assert len(dataset) == total
    loader = DataLoader(dataset, batch_size=16, num_workers=2)
    seen: list[tuple[int, int]] = []
    checked = 0
    for images, labels, meta in loader:
        assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == (3, SIZE, SIZE)
        keys = list(zip(meta["slide_index"].tolist(), meta["patch_index"].tolist(), strict=True))
        for k, (s, i) in enumerate(keys):
            ps = torch_sets[s]
            assert labels[k] == ps.labels[i]
            assert (int(meta["x"][k]), int(meta["y"][k])) == (int(ps.x[i]), int(ps.y[i]))
            assert meta["slide_path"][k] == ps.slide_path
            if i % 7 == 0:  # a sample of pixels against direct reads
                hwc = images[k].permute(1, 2, 0).numpy()
                np.testing.assert_array_equal(hwc, _read(ps, i))
                checked += 1
        seen.extend(keys)
    assert len(seen) == total and len(set(seen)) == total
    assert set(seen) == {(s, i) for s, ps in enumerate(torch_sets) for i in range(len(ps))}
    assert checked > 10


def test_single_process_iteration_keeps_input_order_and_filters(
    torch_sets: list[PatchSet],
) -> None:
    dataset = PatchIterableDataset(
        patches_pool=torch_sets[2:3],
        excluded_labels=["stroma"],
        transform=lambda t: t.float() / 255.0,
    )
    items = list(dataset)
    ps = torch_sets[2]
    expected = [i for i, lab in enumerate(ps.labels) if lab != "stroma"]
    assert [meta["patch_index"] for _, _, meta in items] == expected
    assert [label for _, label, _ in items] == [ps.labels[i] for i in expected]
    image, _, meta = items[0]
    assert image.dtype == torch.float32 and float(image.max()) <= 1.0
    hwc = (image.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    np.testing.assert_array_equal(hwc, _read(ps, meta["patch_index"]))


def test_shards_cover_every_slide_once_with_balanced_load() -> None:
    counts = [100, 10, 50, 50, 5, 0]
    shards = shard_slides(patch_counts=counts, num_shards=2)
    assert sorted(s for shard in shards for s in shard) == list(range(len(counts)))
    loads = [sum(counts[s] for s in shard) for shard in shards]
    assert abs(loads[0] - loads[1]) <= 10
    assert shard_slides(patch_counts=counts, num_shards=2) == shards  # deterministic
    assert shard_slides(patch_counts=[3], num_shards=3) == [[0], [], []]
    with pytest.raises(ValueError):
        shard_slides(patch_counts=counts, num_shards=0)


def test_bad_arguments_are_refused(torch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError):
        PatchIterableDataset(patches_pool=torch_sets, thread_num_workers=0)
    with pytest.raises(TypeError):
        PatchIterableDataset(patches_pool=torch_sets, transform=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PatchIterableDataset(patches_pool=[])


MIX = {"shuffle": True, "open_slides": 4, "patches_per_visit": 16, "shuffle_buffer": 4096}


def _loader_keys(dataset: PatchIterableDataset, *, batches: int | None = None) -> list[list]:
    loader = DataLoader(dataset, batch_size=16, num_workers=2)
    out = []
    for k, (_, _, meta) in enumerate(loader):
        if batches is not None and k == batches:
            break
        out.append(
            list(zip(meta["slide_index"].tolist(), meta["patch_index"].tolist(), strict=True))
        )
    return out


def test_two_ranks_by_hand_with_two_workers_each_split_the_epoch(
    torch_sets: list[PatchSet],
) -> None:
    total = {(s, i) for s, ps in enumerate(torch_sets) for i in range(len(ps))}
    seen: list[tuple[int, int]] = []
    for rank in (0, 1):
        dataset = PatchIterableDataset(
            patches_pool=torch_sets, rank=rank, world_size=2, seed=5, chunk_size=16, **MIX
        )
        loader = DataLoader(dataset, batch_size=16, num_workers=2)
        mine = []
        for images, labels, meta in loader:
            assert tuple(images.shape[1:]) == (3, SIZE, SIZE)
            keys = list(
                zip(meta["slide_index"].tolist(), meta["patch_index"].tolist(), strict=True)
            )
            for k, (s, i) in enumerate(keys):
                ps = torch_sets[s]
                assert labels[k] == ps.labels[i]
                assert int(meta["level"][k]) == ps.level_or_mpp
                assert torch.isnan(meta["mpp"][k])
                if i % 11 == 0:
                    hwc = images[k].permute(1, 2, 0).numpy()
                    np.testing.assert_array_equal(hwc, _read(ps, i))
            mine.extend(keys)
        assert len(mine) == len(dataset)
        seen.extend(mine)
    assert len(seen) == len(set(seen)) == len(total) and set(seen) == total


def test_batches_mix_slides_and_epochs_reshuffle(torch_sets: list[PatchSet]) -> None:
    dataset = PatchIterableDataset(patches_pool=torch_sets, seed=1, chunk_size=16, **MIX)
    first = _loader_keys(dataset)
    # 4 slides over 2 workers: a worker's batches mix its slides; unmixed ones rarely do.
    assert np.median([len({s for s, _ in b}) for b in first]) >= 2
    plain = _loader_keys(PatchIterableDataset(patches_pool=torch_sets, chunk_size=16))
    assert np.median([len({s for s, _ in b}) for b in plain]) == 1
    assert _loader_keys(dataset) == first  # same seed and epoch: same order
    dataset.set_epoch(1)
    second = _loader_keys(dataset)
    assert second != first
    assert sorted(k for b in second for k in b) == sorted(k for b in first for k in b)


@pytest.mark.parametrize("k", [3, 4])
def test_resume_after_k_batches_yields_exactly_the_rest(torch_sets: list[PatchSet], k: int) -> None:
    def make() -> PatchIterableDataset:
        dataset = PatchIterableDataset(patches_pool=torch_sets, seed=2, chunk_size=16, **MIX)
        dataset.set_epoch(3)
        return dataset

    full = _loader_keys(make())
    state = make().state_dict(batches=k, batch_size=16, num_workers=2)
    resumed = make()
    resumed.load_state_dict(state)
    rest = _loader_keys(resumed)
    assert rest == full[k:]
    # Resuming twice in one epoch continues from the first resume.
    again = make()
    again.load_state_dict(resumed.state_dict(batches=2, batch_size=16, num_workers=2))
    assert _loader_keys(again) == full[k + 2 :]
    other = PatchIterableDataset(patches_pool=torch_sets, seed=9, **MIX)
    with pytest.raises(ValueError, match="seed"):
        other.load_state_dict(state)
    single = make()
    single.load_state_dict(state)
    with pytest.raises(ValueError, match="2 DataLoader workers"):
        next(iter(single))  # resumed without the workers the state was saved with


DDP_SCRIPT = """
import json, pickle, sys
import torch.distributed as dist
from torch.utils.data import DataLoader
from slidepatch.torchdata import PatchIterableDataset

init, rank, sets_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
with open(sets_file, "rb") as f:
    sets = pickle.load(f)
dataset = PatchIterableDataset(patches_pool=sets, seed=4, shuffle=True, open_slides=2,
                               patches_per_visit=8, shuffle_buffer=64)
keys = []
for _, _, meta in DataLoader(dataset, batch_size=8, num_workers=2):
    keys += list(zip(meta["slide_index"].tolist(), meta["patch_index"].tolist()))
print(json.dumps({"keys": keys, "len": len(dataset)}))
dist.destroy_process_group()
"""


@pytest.mark.timeout(180)
def test_ranks_are_detected_from_torch_distributed(
    torch_sets: list[PatchSet], tmp_path: Path
) -> None:
    import json
    import os
    import pickle
    import subprocess
    import sys

    sets_file = tmp_path / "sets.pkl"
    sets_file.write_bytes(pickle.dumps(torch_sets[:3]))
    init = f"file://{tmp_path / 'rendezvous'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DDP_SCRIPT, init, str(rank), str(sets_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=150)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    parts = [{tuple(k) for k in r["keys"]} for r in results]
    assert [len(p) for p in parts] == [r["len"] for r in results]
    assert not parts[0] & parts[1]
    assert parts[0] | parts[1] == {
        (s, i) for s, ps in enumerate(torch_sets[:3]) for i in range(len(ps))
    }


def test_online_sampling_and_label_weights_in_the_dataset(
    torch_sets: list[PatchSet], synthetic_svs: Path
) -> None:
    from slidepatch import OnlineRandomPatches, WSITissueMask

    online = OnlineRandomPatches(
        wsi_file=synthetic_svs,
        mask_data=WSITissueMask(wsi_file=synthetic_svs, level_or_minsize=1),
        num_patches=24,
        patch_size=SIZE,
        weak_label="tissue",
        foreground_ratio=0.5,
    )
    dataset = PatchIterableDataset(patches_pool=[online, torch_sets[2]], seed=3, chunk_size=8)
    assert len(dataset) == 24 + len(torch_sets[2])

    def drawn() -> set[tuple[int, int]]:
        found = set()
        for image, label, meta in dataset:
            if meta["slide_index"] == 0:
                assert label == "tissue"
                found.add((meta["x"], meta["y"]))
                with Slide.open(synthetic_svs) as slide:
                    expected = slide.read_region((meta["x"], meta["y"]), 0, (SIZE, SIZE))
                np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), expected)
        return found

    first = drawn()
    assert len(first) == 24 and drawn() == first
    dataset.set_epoch(1)
    assert drawn() != first
    weighted = PatchIterableDataset(
        patches_pool=torch_sets[:2], label_weights={"tumor": 1.0}, epoch_size=50, seed=1
    )
    labels = [label for _, label, _ in weighted]
    assert len(labels) == len(weighted) == 50 and set(labels) == {"tumor"}
    # A state saved without qc= filters does not resume a filtered draw (other locations).
    state = dataset.state_dict(batches=1, batch_size=8, num_workers=0)
    filtered = replace(online, qc={"max_white": 0.5})
    resumed = PatchIterableDataset(patches_pool=[filtered, torch_sets[2]], seed=3, chunk_size=8)
    with pytest.raises(ValueError, match="fingerprint"):
        resumed.load_state_dict(state)
