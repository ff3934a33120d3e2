"""Two MPI ranks (mpiexec -n 2) against one process: same weights, caught faults, named stalls.

One ``train`` launch runs every case (a few seconds); each test reads its part. The references run here,
in the pytest process, through the same code at world size 1."""
import os

import numpy as np
import pytest

import mpi_scenarios as sc
from mpi_launch import run_and_read, run_worker


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi_train")
    proc, ranks = run_and_read("train", out)
    return out, ranks


@pytest.mark.parametrize("run", list(sc.RUNS))
def test_two_ranks_batch_32_match_one_process_batch_64(two_ranks, run):
    _, ranks = two_ranks
    kwargs = dict(sc.RUNS[run])
    kwargs.pop("accumulate", None)               # the reference takes the whole batch of 64 at once
    reference = sc.train(**kwargs)
    moved = False
    for arrays, notes in ranks:
        assert notes["world_size"] == 2
        for name, want in reference.items():
            got = arrays[f"{run}/{name}"]
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=f"{run}: {name}, rank {notes['rank']}")
    # the weights moved away from the initial ones (so the comparison is not trivially equal)
    initial = sc.train(**dict(kwargs, steps=0))
    moved = any(not np.allclose(initial[k], reference[k]) for k in reference if k.endswith("weight"))
    assert moved


def test_unused_parameter_keeps_no_gradient(two_ranks):
    _, ranks = two_ranks
    initial = sc.train(steps=0)
    for arrays, _ in ranks:                      # Adam would move it if its grad were zeros instead of None
        np.testing.assert_array_equal(arrays["adam/unused.weight"], initial["unused.weight"])


def test_checkpoint_written_by_rank0_only_and_resumed_in_one_process(two_ranks):
    out, ranks = two_ranks
    assert ranks[0][1]["wrote_checkpoint"] is True and ranks[1][1]["wrote_checkpoint"] is False
    assert ranks[0][1]["files_after_save"] == ["ckpt.safetensors"]     # no temporary file left behind
    # 10 steps on 2 ranks + 10 steps resumed on 1 rank == 20 steps on 1 rank
    resumed = sc.train("sgd", steps=10, resume_from=os.path.join(out, "ckpt.safetensors"))
    reference = sc.train("sgd", steps=20)
    for name, want in reference.items():
        np.testing.assert_allclose(resumed[name], want, rtol=1e-9, atol=1e-11, err_msg=name)


def test_gradient_buffer_size(two_ranks):
    _, ranks = two_ranks
    notes = ranks[0][1]
    assert notes["gradient_bytes"] == 8 * (notes["n_elements"] + notes["n_params"])


def test_mismatched_models_fail_at_wrap_time_on_every_rank(two_ranks):
    _, ranks = two_ranks
    for _, notes in ranks:
        msg = notes["mismatch"]
        assert msg is not None and "rank 1 differs from rank 0" in msg
        assert "'fc1.weight' (16, 6)" in msg and "'fc1.weight' (17, 6)" in msg


def test_parameter_checksum_catches_drift(two_ranks):
    _, ranks = two_ranks
    for _, notes in ranks:
        assert notes["check_before_drift"] is None
        assert "rank 1: fc2.bias" in notes["check_after_drift"]
        assert "after 2 training forwards" in notes["check_every"] and "rank 1: fc1.weight" in notes["check_every"]


def test_raising_rank_aborts_the_job_with_its_traceback(tmp_path):
    proc = run_worker("raise", tmp_path)         # rank 0 waits in a collective rank 1 never joins
    assert proc.returncode != 0
    assert "rank 1 of 2 raised RuntimeError; aborting the job" in proc.stderr
    assert "deliberate failure on rank 1" in proc.stderr and "Traceback" in proc.stderr
    assert "the abort did not happen" not in proc.stdout


def test_stalled_rank_is_named(tmp_path):
    proc = run_worker("stall", tmp_path)         # rank 1 sleeps 120 s; the timeout is 1 s
    assert proc.returncode != 0
    assert "rank 0 of 2: rank 1 has not joined allreduce (gradients) #" in proc.stderr, proc.stderr
    assert "aborting the job" in proc.stderr
