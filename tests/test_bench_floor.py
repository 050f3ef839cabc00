"""The benchmark's floor under load (`bench.skeleton.desk`) still runs the lifecycle the clients drive: every
callback offered, accepted and marked done, nothing refused. The performance page's floor figures come from it."""

from bench import common, latency


def test_the_skeleton_desk_completes_every_lifecycle_the_benchmark_drives():
    env = common.skeleton_environment(common.environment(scaled=False))
    r = latency.run(env, False, agents=4, rate=4, duration=2, clients=1)
    assert r["refused"] == {}
    assert r["sent"] == 8
    assert r["created"] == r["lifecycles"] == len(r["latencies"]) == 8
    assert r["after"]["backlog"] == 0 and r["after"]["stored"] == 8
