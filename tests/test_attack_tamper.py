"""Tamper pipeline: bit-identity outside the blend box, numpy vs torch agreement, gradients, CLI."""
import numpy as np
import pytest
import torch

from mitsgan.attack.config import preset
from mitsgan.attack.equalize import Equalizer
from mitsgan.attack.models import build_generator
from mitsgan.attack.synthetic import add_nodule, lung_volume
from mitsgan.attack.tamper import kern01, lung_noise, tamper_box, tamper_hu, tamper_scan
from mitsgan.attack.tamper_torch import DifferentiableTamper, interp
from mitsgan.attack.weights import Attacker, load_attacker, save_attacker
from mitsgan.cli.main import main
from mitsgan.io import read_scan, write_scan
from mitsgan.io.scan import Scan

torch.set_num_threads(2)
SPACING = (1.5, 0.8, 0.8)


@pytest.fixture(scope="module")
def volume():
    hu, _ = lung_volume((48, 96, 96), SPACING, np.random.default_rng(0))
    add_nodule(hu, (24, 48, 26), 12.0, SPACING)
    return hu


def _attacker(action, volume, seed=0):
    cfg = preset("tiny", action=action, gf=4, df=4)
    torch.manual_seed(seed)
    g = build_generator(cfg)
    g.train()
    with torch.no_grad():  # give BN running statistics something realistic
        for _ in range(3):
            g(0.2 * torch.randn(4, 1, 32, 32, 32))
    cubes = np.stack([volume[8:40, 20:52, 20:52], volume[8:40, 40:72, 50:82]])
    return Attacker(cfg, g.eval(), Equalizer.fit(cubes, 10000))


@pytest.mark.parametrize("action", ["inject", "remove"])
def test_bit_identical_outside_blend_box(volume, action):
    att = _attacker(action, volume)
    scan = Scan(volume, SPACING)
    res = tamper_scan(scan, (24, 48, 30), att, seed=1)
    outside = np.ones(volume.shape, bool)
    outside[res.box] = False
    assert outside.any() and (~outside).any()
    assert np.array_equal(res.scan.hu[outside], volume[outside])
    assert not np.array_equal(res.scan.hu[res.box], volume[res.box])
    if action == "inject":  # never darker than the original
        assert np.all(res.scan.hu >= volume - 1e-3)


def test_tamper_near_edge_stays_in_bounds(volume):
    att = _attacker("inject", volume)
    out = tamper_hu(volume, SPACING, (0, 2, 95), att, seed=0)
    assert out.shape == volume.shape and np.isfinite(out).all()


@pytest.mark.parametrize("action", ["inject", "remove"])
def test_torch_matches_numpy_and_has_gradients(volume, action):
    att = _attacker(action, volume)
    centers = [(24, 48, 30), (20, 40, 70)]
    ref = np.stack([tamper_hu(volume, SPACING, c, att, noise=False) for c in centers])
    dt = DifferentiableTamper(att)
    x = torch.from_numpy(np.stack([volume, volume])).requires_grad_(True)
    out = dt(x, torch.tensor(centers), SPACING)
    diff = np.abs(out.detach().numpy() - ref)
    print(f"{action}: numpy vs torch max {diff.max():.2e} HU, mean {diff.mean():.2e} HU")
    assert diff.max() < 0.05 and diff.mean() < 1e-3
    # Gradient from the tampered box to the input voxels the generator sees (the shell).
    box = tamper_box(volume.shape, centers[0], SPACING)
    out[(0, *box)].sum().backward()
    g = x.grad[0]
    shell = g[24, 48, 30 - 14]  # inside the cut cube, outside the masked centre
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert shell != 0 or g[20:28, 40:56, 14:20].abs().sum() > 0
    assert x.grad[1].abs().sum() == 0  # item 1's output was not used


def test_torch_noise_argument(volume):
    att = _attacker("inject", volume)
    c = (24, 48, 30)
    dt = DifferentiableTamper(att)
    m = tuple(s.stop - s.start for s in tamper_box(volume.shape, c, SPACING))
    noise = lung_noise(volume, m, seed=3)
    ref = tamper_hu(volume, SPACING, c, att, noise=True, seed=3)
    out = dt(torch.from_numpy(volume), [c], SPACING, noise=torch.from_numpy(noise)[None])
    assert np.abs(out.numpy() - ref).max() < 0.05


def test_interp_matches_numpy():
    xp = torch.tensor([-1000.0, -500, 0, 100], dtype=torch.float64)
    fp = torch.tensor([0.0, 10, 20, 40], dtype=torch.float64)
    x = torch.tensor([-2000.0, -750, 50, 99, 500], dtype=torch.float64)
    assert np.allclose(interp(x, xp, fp).numpy(), np.interp(x.numpy(), xp.numpy(), fp.numpy()))


def test_kern01_matches_ctgan_square():
    k = kern01((41, 41), 3)
    assert k.shape == (41, 41) and k.max() == 1 and k.min() == 0 and k[20, 20] == 1


def test_cli_tamper_exit_codes_and_output(tmp_path, volume, capsys):
    att = _attacker("inject", volume)
    save_attacker(tmp_path / "att", att.config, att.generator, att.equalizer)
    src = tmp_path / "in.mhd"
    write_scan(Scan(volume, SPACING), src)
    out = tmp_path / "out.nrrd"
    assert main(["tamper", str(src), str(out), "--action", "inject", "--at", "24,48,30",
                 "--attacker", str(tmp_path / "att")]) == 0
    t = read_scan(out)
    assert t.shape == volume.shape and not np.array_equal(t.hu, volume)
    # --at outside the scan
    rc = main(["tamper", str(src), str(tmp_path / "o2.nrrd"), "--action", "inject",
               "--at", "24,48,500", "--attacker", str(tmp_path / "att")])
    assert rc == 2 and "outside the scan" in capsys.readouterr().err
    # missing attacker folder
    rc = main(["tamper", str(src), str(tmp_path / "o3.nrrd"), "--action", "inject",
               "--at", "24,48,30", "--attacker", str(tmp_path / "nope")])
    assert rc == 2 and "attacker" in capsys.readouterr().err
    # wrong action for this attacker
    rc = main(["tamper", str(src), str(tmp_path / "o4.nrrd"), "--action", "remove",
               "--at", "24,48,30", "--attacker", str(tmp_path / "att")])
    assert rc == 2
    # existing output without --overwrite
    rc = main(["tamper", str(src), str(out), "--action", "inject", "--at", "24,48,30",
               "--attacker", str(tmp_path / "att")])
    assert rc == 2


def test_cli_attacker_train_bad_data(tmp_path, capsys):
    rc = main(["attacker", "train", "--data", str(tmp_path / "none"), "--action", "inject",
               "--out", str(tmp_path / "run")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_load_attacker_rejects_incomplete_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    from mitsgan.errors import InputError
    with pytest.raises(InputError):
        load_attacker(tmp_path)
