#!/usr/bin/python3
"""cnn_torch.py - the CNN training benchmark in PyTorch, the reference side of
`nnsweep cnn jobs/bench-cnn.ini --bench STEPS` (make bench).

The same work as jobs/bench-cnn.ini: the reference network
  conv3x3(3->32)-BN-ReLU-maxpool2, conv3x3(32->64)-BN-ReLU-maxpool2,
  conv3x3(64->128)-BN-ReLU-maxpool2, dense(2048->256)-ReLU-dropout(0.5)-dense(256->10)
(620810 parameters, float32, NCHW), Kaiming-normal (fan_in, ReLU gain) weights and zero biases,
softmax cross-entropy, SGD with momentum 0.9, learning rate 0.01, weight decay 5e-4, batch 64,
trained on synthetic 3x32x32 images (uniform random bytes / 255, labels uniform in 0..9; 1024
examples drawn in a fresh random order each pass, like nnsweep's shuffled epochs). Every step
gathers its batch, runs forward, backward and the optimizer step; WARMUP untimed steps come first.

Usage: /usr/bin/python3 bench/cnn_torch.py [STEPS [THREADS]]     (defaults 40 and 2)
Prints the parameter count, the seconds of the timed steps and `images/s: N`.
"""
import sys
import time

import torch
from torch import nn

BATCH, WARMUP, NTRAIN = 64, 3, 1024


def reference_net():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2)]
    net = nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), nn.Flatten(),
                        nn.Linear(2048, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    if steps < 1 or threads < 1:
        sys.exit("usage: cnn_torch.py [STEPS >= 1 [THREADS >= 1]]")
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = reference_net()
    net.train()
    nparams = sum(p.numel() for p in net.parameters())
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x_all = torch.randint(0, 256, (NTRAIN, 3, 32, 32), dtype=torch.uint8).float().div_(255)
    y_all = torch.randint(0, 10, (NTRAIN,))
    perm, pos = torch.randperm(NTRAIN), 0

    def step():
        nonlocal perm, pos
        if pos + BATCH > NTRAIN:
            perm, pos = torch.randperm(NTRAIN), 0
        idx = perm[pos:pos + BATCH]
        pos += BATCH
        x, y = x_all.index_select(0, idx), y_all.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(WARMUP):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    seconds = time.perf_counter() - t0
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), parameters {nparams}, "
          f"batch {BATCH}, {steps} steps in {seconds:.3f} s, last loss {float(loss):.4f}")
    print(f"images/s: {steps * BATCH / seconds:.1f}")


if __name__ == "__main__":
    main()
