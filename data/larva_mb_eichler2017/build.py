#!/usr/bin/env python3
"""Rebuilds the bundled larval Drosophila mushroom body connectomes (Eichler et al. 2017, left
and right hemisphere) from the pinned `graspologic==3.4.4` wheel (MIT licence).

    python3 data/larva_mb_eichler2017/build.py      # needs pip and network access to PyPI

Downloads the wheel with `pip download --no-deps` and checks its sha256 (data/pinned_wheel.py), reads
`graspologic/datasets/drosophila/{left,right}_adjacency.csv` (space-separated synapse counts,
row = presynaptic, column = postsynaptic: projection neurons' rows feed the Kenyon cells'
columns) and `{left,right}_cell_labels.csv` (K, P, O, I), and writes for each side
`SIDE_nodes.csv` (node_id = row + 1, class, nt_type) and `SIDE_edges.csv` (pre, post, weight).
Standard library only.
"""
import csv, os, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pinned_wheel  # noqa: E402  (data/pinned_wheel.py)

WHEEL = "graspologic-3.4.4-py3-none-any.whl"
SHA256 = "4ea5cd50f10eaff3fa90f18a8f66b1f5f42c724ac6aeb95e9f081632fc8d2d00"
HERE = os.path.dirname(os.path.abspath(__file__))
# graspologic's letters → cell class and transmitter (Kenyon cells and uniglomerular projection
# neurons are cholinergic; output neurons use GABA, glutamate or acetylcholine and input neurons
# dopamine or octopamine, neither given per neuron in this dataset: left empty = unknown sign).
CLASSES = {"K": ("KC", "acetylcholine"), "P": ("PN", "acetylcholine"), "O": ("MBON", ""), "I": ("MBIN", "")}
EXPECTED = {"left": (209, 7425, 25322), "right": (213, 7536, 26371)}


def main():
    d = "graspologic/datasets/drosophila/"
    names = [f"{d}{side}_{kind}.csv" for side in ("left", "right") for kind in ("adjacency", "cell_labels")]
    files = pinned_wheel.read("graspologic==3.4.4", WHEEL, SHA256, names)
    for side in ("left", "right"):
        rows = [[int(x) for x in line.split()] for line in files[f"{d}{side}_adjacency.csv"].decode().splitlines() if line.strip()]
        labels = [line.strip() for line in files[f"{d}{side}_cell_labels.csv"].decode().splitlines() if line.strip()]
        n = len(labels)
        assert len(rows) == n and all(len(r) == n for r in rows), side
        with open(os.path.join(HERE, f"{side}_nodes.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["node_id", "class", "nt_type"])
            for k, letter in enumerate(labels):
                w.writerow([k + 1, *CLASSES[letter]])
        edges = synapses = 0
        with open(os.path.join(HERE, f"{side}_edges.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["pre", "post", "weight"])
            for a in range(n):
                for b in range(n):
                    if rows[a][b] > 0:
                        w.writerow([a + 1, b + 1, rows[a][b]])
                        edges += 1
                        synapses += rows[a][b]
        print(f"{side}: {n} neurons, {edges} edges, {synapses} synapses")
        assert (n, edges, synapses) == EXPECTED[side]


if __name__ == "__main__":
    main()
