"""The reconnection policy (wslab/reconnect.py): its schedule, the codes it retries after, its limits."""

import pytest

import wslab
from wslab.reconnect import Reconnect


def test_backoff_grows_by_the_factor_up_to_the_cap():
    policy = Reconnect(base=0.1, factor=2, cap=1.0, jitter=0, max_attempts=6)
    assert policy.schedule() == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_jitter_spreads_delays_within_bounds_and_a_seed_repeats_them():
    policy = Reconnect(base=1.0, factor=1, cap=1.0, jitter=0.5, max_attempts=50, jitter_seed=7)
    delays = policy.schedule(50)
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert len(set(delays)) > 10
    assert delays == Reconnect(
        base=1.0, factor=1, cap=1.0, jitter=0.5, max_attempts=50, jitter_seed=7
    ).schedule(50)


def test_max_attempts_bounds_the_schedule_and_none_means_forever():
    assert len(list(Reconnect(max_attempts=3).delays())) == 3
    assert len(Reconnect(max_attempts=None).schedule(100)) == 100


@pytest.mark.parametrize(
    "kwargs", [{"base": -1}, {"factor": 0.5}, {"jitter": 2}, {"max_attempts": 0}], ids=str
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        Reconnect(**kwargs)


def test_reconnect_policy_says_which_codes_it_retries_after() -> None:
    policy = wslab.Reconnect()
    assert policy.retries_after(1006) and policy.retries_after(1001) and policy.retries_after(1011)
    assert not any(policy.retries_after(code) for code in (1008, 4000, 4001, 4999))
    assert wslab.Reconnect(retry_after_deliberate_close=True).retries_after(4001)
