#!/usr/bin/python3
"""nngp_cost_model.py RESULTS.h5 [--dgemm GFLOPS_PER_CORE]: the cost model of a ScaLAPACK NNGP
item (README "The distributed solver"), fitted to a measured run and extrapolated to clusters.

The run (e.g. jobs/nngp-fashion-scale.ini, or the final fit of jobs/nngp-fashion-40k.ini, on 2
ranks) gives the seconds of each phase; with the flop and entry counts below they give the
efficiency of each phase against the dgemm rate of a core (measured here with numpy unless
--dgemm is given; bench/nngp_floor.sh prints the rate of all cores). A file with final fits
(search_train) is fitted to its deepest fit's own phase seconds (/nngp/final/phase_seconds);
another to the grid's /nngp/timing, whose variance phase is the whole posterior. The model then predicts, for n training
points on N nodes:
  time   = sum over phases of  flops / (ranks x dgemm x efficiency)  +  communication
  memory = the local tiles of the kernel matrices per rank (as nnsweep plan computes them,
           simplified to their leading terms) + the replicated data
  communication of pdpotrf on a P x Q grid: every panel of nb columns is broadcast along process
           rows and columns, about n^2/2 (1/P + 1/Q) words per rank in total, in
           (n/nb)(log2 P + log2 Q) messages; pdtrsm with m right-hand sides about n m / sqrt(PQ)
           words per rank. Network numbers are ASSUMED (this machine is one node): 12.5 GB/s per
           node (100 Gb/s InfiniBand), 2 us latency, shared by the ranks of a node.
Nodes are ASSUMED to have 64 cores at this machine's per-core dgemm rate and 256 GiB of memory;
two layouts: one rank per core, and one rank per node whose BLAS and OpenMP threads use its 64
cores (OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set; the replicated data then exist once per
node, and a rank has the node's network link to itself). Prints the fitted constants, the model's check against the run it was fitted
to, and the extrapolation table (time of one grid item with 10 depths, and memory per rank)."""
import argparse
import math
import time

import h5py
import numpy as np

CORES_PER_NODE, NODE_GIB, NET_BYTES_PER_S, LATENCY_S, NB = 64, 256, 12.5e9, 2e-6, 128


def counts(n, m, d, k, depth, ndepth):
    """Flops (or entry-steps for the recursion) of one grid item with ndepth depths up to
    `depth`, and of one reported model's posterior, per phase."""
    entries = n * n / 2 + n * m          # lower half of K(train, train) and K(test, train)
    item = {
        "gram": n * n * d + 2.0 * n * m * d,
        "recursion": depth * entries,
        "factorization": ndepth * n ** 3 / 3,
        "solve": ndepth * (2.0 * n * n * k + 2.0 * n * m * k),
    }
    post = {"recursion": depth * entries, "factorization": n ** 3 / 3, "variance": float(n) * n * m}
    return item, post


def measure_dgemm_per_core():
    """GFLOP/s of one core: numpy's dgemm (OpenBLAS) on one thread is not selectable from here, so
    the rate of all threads is divided by the cores numpy uses."""
    import os
    a = np.random.default_rng(1).standard_normal((3000, 3000))
    a @ a
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        best = max(best, 2 * 3000 ** 3 / (time.perf_counter() - t))
    return best / 1e9 / (os.cpu_count() or 1)


def memory_per_rank(n, m, d, k, ranks):
    """Bytes: the factor's lower half n^2/(2p) (its only resident part), the test kernel n m/p
    (the variance's solve runs in place of it), the replicated data."""
    tiles = (n * n / 2 + 1.0 * n * m) / ranks
    data = (n + m) * (d + k + 4.0)
    return 8 * (tiles + data), 8 * data


def comm_seconds(n, m, ranks, nodes):
    p = int(math.sqrt(ranks))
    while ranks % p:
        p -= 1
    q = ranks // p
    words = n * n / 2 * (1 / p + 1 / q) + n * m / math.sqrt(ranks)
    per_rank_bw = NET_BYTES_PER_S / (ranks / nodes)
    messages = (n / NB) * (math.log2(max(p, 2)) + math.log2(max(q, 2)))
    return 8 * words / per_rank_bw + messages * LATENCY_S if nodes > 1 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--dgemm", type=float, help="GFLOP/s of one core (default: measure)")
    args = ap.parse_args()
    f = h5py.File(args.results, "r")
    g = f["/nngp"].attrs
    n, m, k = int(g["ntrain"]), int(g["ntest"]), int(g["ntargets"])
    ranks = int(f.attrs["mpi_size"])
    d = 3072 if "cifar" in str(f["/data"].attrs["dataset"]).lower() else 784
    depths = f["/nngp/depth"][()]
    final = "/nngp/final" in f
    if final:   # the deepest final fit: one kernel, one factorization, its own phases
        fg = f["/nngp/final"]
        n = int(fg.attrs["ntrain"])
        deepest = int(np.argmax(fg["depth"][()]))
        names = [s.decode() if isinstance(s, bytes) else s for s in fg["phase"][()]]
        sec = dict(zip(names, fg["phase_seconds"][deepest]))
        sec["gram"] += float(fg.attrs["gram_seconds"])
        depths = fg["depth"][deepest:deepest + 1]
    else:
        names = [s.decode() if isinstance(s, bytes) else s for s in f["/nngp/timing/phase_names"][()]]
        sec = dict(zip(names, f["/nngp/timing/phase_seconds"][()]))   # wall seconds of the group
    item, post = counts(n, m, d, k, int(depths.max()), len(depths))
    rate = (args.dgemm or measure_dgemm_per_core()) * 1e9
    print(f"fitted to {args.results}: n = {n}, m = {m}, k = {k}, depth {int(depths.max())}, "
          f"{ranks} ranks, process grid {fg.attrs['process_grid'] if final else f.attrs['process_grid']}"
          f"{' (final fit)' if final else ''}, dgemm {rate / 1e9:.1f} GFLOP/s "
          f"per core")
    eff = {"recursion": sec["recursion"] * ranks / item["recursion"]}   # s per entry-step per core
    for phase in ("gram", "factorization", "solve"):
        eff[phase] = item[phase] / (sec[phase] * ranks * rate)
    # a grid's variance phase is the whole posterior: its recursion and factorization as above,
    # then the triangular solve with the m test columns; a final fit times that solve alone
    rest = sec["variance"] if final else sec["variance"] - post["recursion"] * eff["recursion"] / ranks \
        - post["factorization"] / (ranks * rate * eff["factorization"])
    eff["variance"] = post["variance"] / (max(rest, 1e-9) * ranks * rate)
    print(f"  {'recursion':13s} {sec['recursion']:8.2f} s  "
          f"{1e9 * eff['recursion']:.2f} ns per entry and layer per core")
    for phase in ("gram", "factorization", "solve", "variance"):
        t = rest if phase == "variance" else sec[phase]
        flops = post["variance"] if phase == "variance" else item[phase]
        print(f"  {phase:13s} {t:8.2f} s  {flops / t / 1e9:7.1f} GFLOP/s  efficiency "
              f"{eff[phase]:.2f} of dgemm{' (the variance triangular solve)' if phase == 'variance' else ''}")

    def predict(n_, nodes, per_node):
        """Seconds of one item (10 depths) and of its network part, and of one final fit (depth
        3: Gram, recursion, factorization, solve, variance), on nodes x 64 cores laid out as
        per_node ranks per node."""
        it, po = counts(n_, 10_000, d, k, 10, 10)
        fit, fpost = counts(n_, 10_000, d, k, 3, 1)
        cores = nodes * CORES_PER_NODE
        t = it["recursion"] * eff["recursion"] / cores
        tf = fit["recursion"] * eff["recursion"] / cores + fpost["variance"] / (cores * rate * eff["variance"])
        for ph in ("gram", "factorization", "solve"):
            t += it[ph] / (cores * rate * eff[ph])
            tf += fit[ph] / (cores * rate * eff[ph])
        c = comm_seconds(n_, 10_000, nodes * per_node, nodes)
        return t + 10 * c, 10 * c, tf + c

    for per_node, label in ((CORES_PER_NODE, "one rank per core"),
                            (1, f"one rank per node, {CORES_PER_NODE} BLAS/OpenMP threads each")):
        print()
        print(f"Extrapolation, {label}: one grid item = 10 depths (10 factorizations), m = 10000 "
              f"test points, {CORES_PER_NODE} cores and {NODE_GIB} GiB per node (assumed)")
        print("| n | nodes | ranks | time per item | of which network | one final fit | memory per rank "
              "| of which replicated data | memory per node | fits |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for n_ in (50_000, 100_000, 200_000, 500_000, 1_000_000):
            for nodes in (16, 64, 256, 1024):
                r = nodes * per_node
                t, c, tf = predict(n_, nodes, per_node)
                mem, data = memory_per_rank(n_, 10_000, d, k, r)
                node_mem = mem * per_node
                fits = node_mem <= NODE_GIB * 2 ** 30 * 0.85
                print(f"| {n_:,} | {nodes} | {r} | {t / 60:.1f} min | {100 * c / t:.0f}% | {tf / 60:.1f} min | "
                      f"{mem / 2 ** 30:.2f} GiB | {data / 2 ** 30:.2f} GiB | "
                      f"{node_mem / 2 ** 30:.0f} GiB | {'yes' if fits else 'no'} |")

if __name__ == "__main__":
    main()
