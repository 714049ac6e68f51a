"""coursetools.distributed.bounded_as_completed on an in-process Dask cluster (inproc transport,
threads: no processes, no network): the scheduler never puts a second task on a worker's hands.

Why it matters: when a worker dies, Dask counts a death against every task the scheduler has
given it, queued or running, so a queued innocent student would be brought closer to
KilledWorker by another student's crash."""

import threading
import time

import pytest
from distributed import Client, LocalCluster

from coursetools.distributed import bounded_as_completed


def _task(item):
    time.sleep(0.15)
    return item


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def _most_held(client, window):
    """Grade 8 items; return (items back, the most tasks any worker held, sampled every 10 ms)."""
    most, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            most[0] = max([most[0], *map(len, client.processing().values())])
            time.sleep(0.01)

    def submit(item):
        return client.submit(_task, item, pure=False, key=f"grade-week13-s{item}-{time.time_ns()}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        back = [(item, future.result()) for item, future in bounded_as_completed(client, list(range(8)), submit, window)]
    finally:
        stop.set()
        watcher.join()
    return back, most[0]


def test_every_item_comes_back_once_and_no_worker_holds_two_tasks(client):
    back, most = _most_held(client, None)
    assert sorted(back) == [(i, i) for i in range(8)]
    assert most == 1, f"a worker held {most} tasks at once"


def test_a_window_wider_than_the_threads_puts_two_tasks_on_a_worker(client):
    """The control: twice the threads (the old default) gives a busy worker a second task."""
    back, most = _most_held(client, 4)
    assert sorted(back) == [(i, i) for i in range(8)]
    assert most >= 2, most
