"""LeNet-5's components against the paper: counts, Table I, S2/S4 arithmetic, f, F7 codes, init."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from paper_lenet import build_model, load_config
from paper_lenet.config import ModelConfig
from paper_lenet.core.accounting import count
from paper_lenet.core.layers import Activation
from paper_lenet.paper import BITMAPS, C3_TABLE, PAPER, A, S, rbf_codes

ROOT = Path(__file__).resolve().parents[1]
# a verbatim copy of the project's reference transcription of Fig. 3 (shared/reference/), kept in the
# repository so the comparison runs in every clone
REFERENCE = ROOT / "tests" / "data" / "rbf_digits_7x12.txt"


@pytest.fixture(scope="module")
def paper():
    return build_model(load_config(ROOT / "configs" / "lenet5_1998.yaml").model, seed=0)


def test_paper_counts_layer_by_layer(paper):
    info = count(paper)
    for layer in info["layers"]:
        assert (layer["params"], layer["connections"]) == PAPER["layers"][layer["name"]], layer["name"]
    assert info["total"]["params"] == 60000
    assert info["total"]["connections"] == 340908
    # the model's own parameters are the paper's free parameters, layer by layer: nothing masked
    assert sum(p.numel() for p in paper.parameters()) == 60000
    for name, (params, _) in PAPER["layers"].items():
        assert sum(p.numel() for p in getattr(paper, name).parameters()) == params, name
    assert paper.C3.weight.shape == (60, 5, 5)  # Table I's 60 kernels
    shapes = [row["output_shape"] for row in info["layers"]]
    assert shapes == [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5], [120, 1, 1], [84], [10]]


def test_each_layer_callable_on_its_own_input(paper):
    assert paper.C1(torch.zeros(2, 1, 32, 32)).shape == (2, 6, 28, 28)
    assert paper.S2(torch.zeros(2, 6, 28, 28)).shape == (2, 6, 14, 14)
    assert paper.C3(torch.zeros(2, 6, 14, 14)).shape == (2, 16, 10, 10)
    assert paper.S4(torch.zeros(2, 16, 10, 10)).shape == (2, 16, 5, 5)
    assert paper.C5(torch.zeros(2, 16, 5, 5)).shape == (2, 120, 1, 1)
    assert paper.F6(torch.zeros(2, 120)).shape == (2, 84)
    assert paper.F7(torch.zeros(2, 84)).shape == (2, 10)


def test_c3_table_probed_behaviourally(paper):
    """Excite one S2 map: exactly the C3 maps that Table I connects to it must change."""
    base = torch.zeros(1, 6, 14, 14)
    ref = paper.C3(base)
    for s2_map in range(6):
        x = base.clone()
        x[0, s2_map] = torch.randn(14, 14)
        moved = {o for o in range(16) if not torch.allclose(paper.C3(x)[0, o], ref[0, o])}
        assert moved == {o for o, ins in enumerate(C3_TABLE) if s2_map in ins}, s2_map
    assert sum(len(t) for t in C3_TABLE) == 60  # 60 kernels
    # the paper's Table I, row by row (C3 maps 0, 6 and 15)
    assert C3_TABLE[0] == (0, 1, 2) and C3_TABLE[6] == (0, 1, 2, 3) and C3_TABLE[15] == tuple(range(6))


@pytest.mark.parametrize("mode,factor", [("sum", 1.0), ("average", 0.25)])
def test_subsampling_arithmetic_by_hand(mode, factor):
    cfg = ModelConfig(subsample_mode=mode)
    model = build_model(cfg, seed=1)
    s2 = model.S2
    with torch.no_grad():
        s2.coef.copy_(torch.arange(1, 7) * 0.1)
        s2.bias.copy_(torch.arange(6) * -0.05)
    x = torch.randn(1, 6, 28, 28)
    out = s2(x)
    for m, (i, j) in itertools.product(range(6), [(0, 0), (3, 5), (13, 13)]):
        block = x[0, m, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        a = (block[0, 0] + block[0, 1] + block[1, 0] + block[1, 1]) * factor * s2.coef[m] + s2.bias[m]
        assert torch.allclose(out[0, m, i, j], A * torch.tanh(S * a), atol=1e-6)
    assert sum(p.numel() for p in model.S2.parameters()) == 12
    assert sum(p.numel() for p in model.S4.parameters()) == 32


def test_squashing_function():
    f = Activation("scaled_tanh")
    assert abs(f(torch.tensor(1.0)).item() - 1.0) < 1e-4
    assert abs(f(torch.tensor(-1.0)).item() + 1.0) < 1e-4
    assert abs(f(torch.tensor(50.0)).item() - 1.7159) < 1e-6
    a = torch.linspace(-3, 3, 13, requires_grad=True)
    (g,) = torch.autograd.grad(f(a).sum(), a)
    assert torch.allclose(g, f.derivative(a.detach()), atol=1e-6)


def parse_reference(path: Path) -> dict:
    digits, cur = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("digit "):
            cur = int(line.split()[1])
            digits[cur] = []
        elif cur is not None and len(line) == 7 and set(line) <= set("#."):
            digits[cur].append(line)
    return digits


def test_f7_codes_equal_paper_bitmaps():
    codes = rbf_codes()
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    ref = parse_reference(REFERENCE)
    assert sorted(ref) == list(range(10))
    for d in range(10):
        assert tuple(ref[d]) == BITMAPS[d], d
        want = torch.tensor([1.0 if c == "#" else -1.0 for c in "".join(ref[d])])
        assert torch.equal(codes[d], want)
    # distinct codes, far apart (the point of the 7x12 bitmaps)
    d2 = torch.cdist(codes, codes) ** 2
    assert (d2 + torch.eye(10) * 1e9).min() >= 4 * 10


def test_rbf_output_and_prediction(paper):
    assert "centers" in dict(paper.F7.named_buffers())
    assert not any("F7" in n for n, _ in paper.named_parameters())  # never trained
    x = rbf_codes()[[3, 7]] * 0.9
    y = paper.F7(x)
    brute = ((x[:, None, :] - rbf_codes()[None]) ** 2).sum(-1)
    assert torch.allclose(y, brute, atol=1e-4)
    assert paper.scores(y).argmax(1).tolist() == [3, 7]


def test_lecun98_init_ranges():
    paper = build_model(ModelConfig(init="lecun98"), seed=0)
    fan = {"C1": 25, "C5": 400, "F6": 120, "S2": 4, "S4": 4}
    for name, f in fan.items():
        w = getattr(paper, name).coef if name.startswith("S") else getattr(paper, name).weight
        assert w.abs().max() <= 2.4 / f + 1e-7, name
        assert w.numel() < 100 or w.abs().max() > 0.9 * 2.4 / f, name  # fills the range
    dense = paper.C3.w()
    for o, ins in enumerate(C3_TABLE):  # C3: fan-in 75, 100 or 150 per map
        w = dense[o]
        bound = 2.4 / (25 * len(ins))
        assert w[list(ins)].abs().max() <= bound + 1e-7 and w[list(ins)].abs().max() > 0.7 * bound
        assert torch.count_nonzero(w) == 25 * len(ins)  # unconnected kernels are exactly zero
    assert all(torch.count_nonzero(getattr(paper, n).bias) == 0 for n in ("C1", "C3", "C5", "F6"))


def test_dense_c3_checkpoint_loads_into_packed_c3(paper):
    """Weights saved when C3 stored all 96 kernels (e.g. committed runs) load and compute the same."""
    state = paper.state_dict()
    old = dict(state, **{"C3.weight": paper.C3.w().detach().clone()})  # the former (16, 6, 5, 5) layout
    model = build_model(load_config(ROOT / "configs" / "lenet5_1998.yaml").model, seed=1)
    model.load_state_dict(old)
    assert torch.equal(model.C3.weight, paper.C3.weight)
    x = torch.randn(4, 1, 32, 32)
    assert torch.equal(model(x), paper(x))


def test_dense_c3_keeps_all_96_kernels():
    modern = build_model(load_config(ROOT / "configs" / "modern.yaml").model, seed=0)
    assert modern.C3.weight.shape == (16, 6, 5, 5)
    assert sum(p.numel() for p in modern.C3.parameters()) == 96 * 25 + 16


def test_init_is_seeded():
    a, b = build_model(ModelConfig(), seed=3), build_model(ModelConfig(), seed=3)
    c = build_model(ModelConfig(), seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=False))
    assert not torch.equal(a.C1.weight, c.C1.weight)


SWITCHES = list(
    itertools.product(
        ["scaled_tanh", "tanh", "relu"],
        ["subsample", "avg", "max"],
        ["table", "full"],
        ["rbf", "linear"],
        ["lecun98", "lecun98_sqrt", "torch_default", "kaiming"],
    )
)


@pytest.mark.parametrize("act,pool,c3,head,init", SWITCHES)
def test_every_switch_combination_trains(act, pool, c3, head, init):
    model = build_model(ModelConfig(activation=act, pooling=pool, c3=c3, head=head, init=init), seed=0)
    x = torch.randn(3, 1, 32, 32)
    out = model(x)
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    loss = model.scores(out).logsumexp(1).sum() - model.scores(out)[:, 0].sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert model.predict(x).shape == (3,)


def test_larger_input_gives_larger_c5_maps():
    model = build_model(ModelConfig(input_size=36), seed=0)
    assert model.C5(model.S4(model.C3(model.S2(model.C1(torch.zeros(1, 1, 36, 36)))))).shape == (1, 120, 2, 2)
    assert model(torch.zeros(2, 1, 36, 36)).shape == (2, 10)
