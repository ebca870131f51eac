#!/usr/bin/env python3
"""Rebuilds the bundled C. elegans hermaphrodite connectome (Cook et al. 2019) from the pinned
`cect==0.3.5` wheel (OpenWorm ConnectomeToolbox, MIT licence).

    python3 data/celegans_cook2019/build.py      # needs pip and network access to PyPI

Downloads the wheel with `pip download --no-deps` and checks its sha256 (data/pinned_wheel.py), reads
`cect/cache/Cook2019HermReader.json` (chemical synapse counts `Generic_CS[pre][post]`, gap
junctions `Generic_GJ`), keeps the 302 hermaphrodite neurons of `cect/Cells.py`
(`PREFERRED_HERM_NEURON_NAMES`, parsed as literals: the module itself needs pandas), takes each
neuron's transmitter(s) from `cect/cache/OpenWormUnifiedReader.json` (a neuron with two
transmitters has its weights copied into both matrices there: they are used as labels only,
weights come from the Cook file), and writes nodes.csv, edges.csv and gap_junctions.csv.
Standard library only.
"""
import ast, csv, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pinned_wheel  # noqa: E402  (data/pinned_wheel.py)

WHEEL = "cect-0.3.5-py3-none-any.whl"
SHA256 = "ea47f7a6b0d69a8d0bd3b0ade4037b7cc32d31ad0449f823d7ec153d6fd25057"
HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["GABA", "Acetylcholine", "Glutamate", "Betaine"]  # primary transmitter on ties


def literals(src):
    out = {}
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                v = ast.literal_eval(node.value)
            except Exception:
                continue
            if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
                out[node.targets[0].id] = list(v)
    return out


def main():
    files = pinned_wheel.read(
        "cect==0.3.5",
        WHEEL,
        SHA256,
        ["cect/cache/Cook2019HermReader.json", "cect/cache/OpenWormUnifiedReader.json", "cect/Cells.py"],
    )
    cook = json.loads(files["cect/cache/Cook2019HermReader.json"])
    unified = json.loads(files["cect/cache/OpenWormUnifiedReader.json"])
    lit = literals(files["cect/Cells.py"].decode())
    names = lit["PREFERRED_HERM_NEURON_NAMES"]
    assert len(names) == 302
    sensory = {n for k, v in lit.items() if k.startswith("SENSORY_NEURONS") for n in v}
    motor = {n for k, v in lit.items() if "MOTORNEURONS" in k for n in v}
    inter = {n for k, v in lit.items() if k.startswith("INTERNEURONS") or k == "PHARYNGEAL_INTERNEURONS" for n in v}
    poly = set(lit.get("PHARYNGEAL_POLYMODAL_NEURONS", []))

    def cls(n):
        for label, group in [("sensory", sensory), ("motor", motor), ("inter", inter), ("polymodal", poly)]:
            if n in group:
                return label
        return "unknown"

    ix = {n: i for i, n in enumerate(cook["nodes"])}
    uix = {n: i for i, n in enumerate(unified["nodes"])}
    cs, gj = cook["connections"]["Generic_CS"], cook["connections"]["Generic_GJ"]
    with open(os.path.join(HERE, "nodes.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["node_id", "name", "class", "nt_type", "transmitters"])
        for k, n in enumerate(names):
            out = {t: sum(unified["connections"][t][uix[n]]) for t in ORDER if n in uix}
            used = [t for t in ORDER if out.get(t, 0) > 0]
            primary = max(used, key=lambda t: (out[t], -ORDER.index(t))) if used else ""
            w.writerow([k + 1, n, cls(n), primary, ";".join(used)])
    def write_pairs(fname, matrix):
        """Writes the non-zero entries among the 302 neurons; returns (pairs, total)."""
        pairs = total = 0
        with open(os.path.join(HERE, fname), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["pre", "post", "weight"])
            for a, pre in enumerate(names):
                for b, post in enumerate(names):
                    c = matrix[ix[pre]][ix[post]]
                    if c > 0:
                        w.writerow([a + 1, b + 1, int(c)])
                        pairs += 1
                        total += int(c)
        return pairs, total

    edges, synapses = write_pairs("edges.csv", cs)
    write_pairs("gap_junctions.csv", gj)
    print(f"302 neurons, {edges} chemical edges, {synapses} synapses")
    assert (edges, synapses) == (3709, 20965)


if __name__ == "__main__":
    main()
