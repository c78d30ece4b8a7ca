"""The progress record of a background run a page follows (orders.services.jobs)."""

from orders.services.jobs import CampaignJob


def test_the_counter_records_the_count_every_fifty_items():
    job = CampaignJob("test", 1)
    job.start(120)
    progress = job.counter(every=50)
    for _ in range(49):
        progress(1)
    assert job.get()["done"] == 0
    progress(1)
    assert (job.get()["done"], job.get()["percent"]) == (50, 42)
    progress(30)
    assert job.get()["done"] == 50 and progress.seen() == 80


def test_a_finished_run_keeps_its_result_and_is_no_longer_running():
    job = CampaignJob("test", 2)
    job.start(3)
    assert job.running()
    job.finish(done=3, changed=2)
    record = job.get()
    assert not job.running()
    assert (record["finished"], record["changed"], record["percent"]) == (True, 2, 100)


def test_runs_of_two_campaigns_are_apart():
    CampaignJob("test", 3).start(10)
    assert CampaignJob("test", 4).get() is None


def test_a_run_stopped_by_an_error_says_so_and_raises():
    import pytest

    job = CampaignJob("test", 5)
    job.start(100)

    def work(progress):
        progress(60)
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        job.run(work, summary=dict, every=10)
    record = job.get()
    assert (record["finished"], record["error"], record["done"]) == (True, True, 60)
