"""DistributedSampler: equal disjoint shards, padding / drop_last, a new order every epoch by itself."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.distributed import DistributedSampler
from chainrule.utils.data import DataLoader, TensorDataset


def shards(n, replicas, **kw):
    data = list(range(n))
    return [list(DistributedSampler(data, num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize("n, replicas", [(10, 2), (10, 3), (7, 4), (2, 5)])
def test_equal_shards_cover_the_dataset(n, replicas):
    parts = shards(n, replicas, seed=3)
    sizes = {len(p) for p in parts}
    assert sizes == {-(-n // replicas)}                          # equal: no rank runs out first
    assert set().union(*map(set, parts)) == set(range(n))
    if n % replicas == 0:
        assert sorted(sum(parts, [])) == list(range(n))          # disjoint when nothing is padded


def test_drop_last_trims_to_equal_shards():
    parts = shards(10, 3, drop_last=True, shuffle=False)
    assert [len(p) for p in parts] == [3, 3, 3]
    assert len(set(sum(parts, []))) == 9
    with pytest.raises(ValueError, match="cannot give each of 4 ranks one"):
        DistributedSampler(list(range(3)), num_replicas=4, rank=0, drop_last=True)


def test_new_order_every_epoch_without_set_epoch():
    s = DistributedSampler(list(range(50)), num_replicas=2, rank=0, seed=0)
    first, second = list(s), list(s)
    assert first != second and sorted(first) != first
    s.set_epoch(0)                               # PyTorch-style set_epoch still selects the epoch
    assert list(s) == first
    again = DistributedSampler(list(range(50)), num_replicas=2, rank=0, seed=0)
    assert list(again) == first                  # same seed, same epoch: same order on every rank


def test_rank_batches_together_form_the_global_batch():
    """Rank r's batch b (size B) joined over ranks == batch b (size R*B) of one process on the same order."""
    n, R, B = 96, 3, 4
    data = TensorDataset(cr.arange(n))
    one = [x[0].numpy() for x in DataLoader(data, batch_size=R * B, sampler=DistributedSampler(
        data, num_replicas=1, rank=0, seed=7))]
    per_rank = [[x[0].numpy() for x in DataLoader(data, batch_size=B, sampler=DistributedSampler(
        data, num_replicas=R, rank=r, seed=7))] for r in range(R)]
    for b, glob in enumerate(one):
        assert sorted(np.concatenate([per_rank[r][b] for r in range(R)]).tolist()) == sorted(glob.tolist())


def test_state_dict_resumes_the_epoch_under_another_world_size():
    s = DistributedSampler(list(range(20)), num_replicas=2, rank=1, seed=5)
    list(s), list(s)
    state = s.state_dict()
    assert state == {"epoch": 2, "seed": 5}
    t = DistributedSampler(list(range(20)), num_replicas=1, rank=0)
    t.load_state_dict(state)
    u = DistributedSampler(list(range(20)), num_replicas=1, rank=0, seed=5)
    u.set_epoch(2)
    assert list(t) == list(u)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(list(range(4)), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1"):
        DistributedSampler(list(range(4)), num_replicas=0, rank=0)
