"""At most 200 bytes per node (issue 21): what a live graph holds, measured as the benchmark measures it.

benchmarks.run reports two figures per graph, from one tracemalloc snapshot: the bytes the
objects ask for and the bytes CPython's small-object allocator hands out for them (size classes
of 16 bytes). Both must stay at or under 200. Nothing here is timed: the counts are the same on
every run of the same graph.
"""

from benchmarks import run, workloads
from engine import Value


def per_node(build):
    """(allocated, requested) bytes per node of the graph build() returns, kept alive after backward."""
    holder = {}

    def kept():
        holder["root"] = build()
        return holder["root"]

    allocated, requested = run._live_bytes(kept)
    nodes = workloads.graph_nodes(holder.pop("root"), lambda v: v.parents)
    return allocated / nodes, requested / nodes


def moons_graph(points: int):
    xs, labels = workloads.make_moons(points)
    model = workloads.Model(Value, workloads.initial_weights())
    total = workloads.loss(Value, model, xs, labels)
    total.backward()
    return model, total


def test_the_moons_training_graph_holds_at_most_200_bytes_per_node_both_ways():
    allocated, requested = per_node(lambda: moons_graph(20)[1])
    assert allocated <= 200, f"{allocated:.1f} bytes per node allocated"
    assert requested <= 200, f"{requested:.1f} bytes per node asked for"


def test_a_chain_of_binary_operations_holds_at_most_200_bytes_per_node_both_ways():
    allocated, requested = per_node(lambda: workloads.forward_backward(workloads.deep_chain, Value, 2_000))
    assert allocated <= 200, f"{allocated:.1f} bytes per node allocated"
    assert requested <= 200, f"{requested:.1f} bytes per node asked for"
