"""Turns the JSON lines bench/run.sh wrote into a Markdown table (stdout)."""
import json
import pathlib
import platform
import sys

d = pathlib.Path(sys.argv[1])


def load(name):
    p = d / name
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def one(name):
    rows = load(name)
    return rows[0] if rows else None


print(f"# ccrnn benchmarks\n\nmachine: {platform.processor() or platform.machine()}, "
      f"{platform.system()}; threads as in each row.\n")
print("| benchmark | ccrnn | PyTorch | ccrnn / PyTorch |\n|---|---|---|---|")


def ratio_cell(o, t):
    """The ratio of median steps, and of the fastest steps where both recorded one (this
    shared machine's load varies from run to run, the fastest step less so)."""
    best = ""
    if "step_min_s" in o and "step_min_s" in t:
        best = f" (fastest steps: {o['step_min_s'] / t['step_min_s']:.3f})"
    return f"**{o['step_s'] / t['step_s']:.3f}**{best}"


o, t = one("dense_ccrnn.json"), one("dense_torch.json")
if o and t:
    print(f"| dense training step, N = 300, 60 × 400 (s) | {o['step_s']:.4f} | {t['step_s']:.4f} "
          f"(torch {t['version']}) | {ratio_cell(o, t)} |")

# the sparse step against each PyTorch reference, the ratio to the better one in bold
o, refs = one("sparse_ccrnn.json"), load("sparse_torch.json")
if o and refs:
    best = min(refs, key=lambda r: r["step_s"])
    label = {"custom-fn": "custom autograd function, W and Wᵀ as CSR", "autograd-csr": "autograd through `torch.sparse_csr_tensor`"}
    cells = "; ".join(f"{r['step_s']:.4f} ({label.get(r.get('variant'), r.get('variant', '?'))})" for r in refs)
    gf = o.get("product_gflop")
    flop = f", {gf:.1f} GFLOP of sparse products ({gf / o['step_s']:.1f} GFLOP/s)" if gf else ""
    print(f"| sparse training step, N = {o['n']}, {o['nnz']:,} synapses, {o['trials']} × {o['steps']} (s){flop} | "
          f"{o['step_s']:.4f} | {cells} (torch {best['version']}) | {ratio_cell(o, best)} against the faster |")

fit = [r for r in load("fit_ccrnn.jsonl") if "curve" in r]
torch_fit = one("fit_torch.json")
if fit and torch_fit:
    goal = torch_fit["unrecorded_mse"]
    print(f"\n## Time to fit (N = 300 E/I teacher, M = 30)\n\nGoal: the unrecorded error (held-out trials) "
          f"of the paper's recipe in PyTorch after {torch_fit['steps']} Adam steps: **{goal:.4f}**, reached in "
          f"{torch_fit['seconds']:.0f} s.\n")
    print("| implementation | method | s to reach the goal | speed-up | final unrecorded MSE | s in all |\n|---|---|---|---|---|---|")
    print(f"| PyTorch | Adam, paper recipe | {torch_fit['seconds']:.1f} | 1 | {goal:.4f} | {torch_fit['seconds']:.0f} |")
    for r in fit:
        hit = next((p for p in r["curve"] if p[3] <= goal), None)
        reach = f"{hit[0]:.1f} (step {hit[2]}, {hit[1]} evaluations)" if hit else "not reached"
        speed = f"**{torch_fit['seconds'] / hit[0]:.0f}×**" if hit else "–"
        print(f"| ccrnn | {r['method']} | {reach} | {speed} | {r['unrecorded_mse']:.4f} | {r['seconds']:.0f} |")

sim, st, ck = one("flyvis_sim.json"), one("flyvis_student.json"), one("flyvis_student_ckpt.json")
if sim or st:
    print("\n## Scale (flyvis)\n\n| run | neurons | detail | time | peak memory |\n|---|---|---|---|---|")
    if sim:
        print(f"| simulation, extent {sim['extent']} | {sim['neurons']:,} | {sim['synapses_pairs']:,} connected pairs, "
              f"{sim['trials']} trial | {sim['step_s'] * 1e3:.1f} ms / step (load {sim['load_s']:.1f} s) | {sim['peak_mb']:,.0f} MB |")
    for r in [st, ck]:
        if r:
            ckpt = f", checkpoints every {r['checkpoint_every']} steps" if r["checkpoint_every"] else ""
            print(f"| student, extent {r['extent']} | {r['neurons']:,} | {r['recorded']} recorded, {r['trials']} × {r['steps']} "
                  f"steps{ckpt} | {r['train_step_s']:.2f} s / training step | {r['peak_mb']:,.0f} MB |")
