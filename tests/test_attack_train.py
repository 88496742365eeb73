"""Training smoke test: finite losses, run folder contents, resume gives identical weights."""
import json

import pytest
import torch
from safetensors.torch import load_file

from mitsgan.attack.config import AugmentConfig, preset
from mitsgan.attack.synthetic import make_dataset
from mitsgan.attack.train import train
from mitsgan.attack.weights import load_attacker

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ds"), n_scans=2, shape=(40, 80, 80))


def _cfg(epochs):
    return preset("tiny", action="inject", epochs=epochs, batch_size=4, gf=4, df=4, seed=1,
                  augment=AugmentConfig(flips=True, shift_vox=0, rotation_step_deg=0))


def test_train_smoke_and_resume_identical(dataset, tmp_path):
    quiet = lambda *_: None  # noqa: E731
    full = train(_cfg(2), dataset, tmp_path / "full", log=quiet)
    for name in ("config.json", "equalization.json", "log.csv", "stats.jsonl",
                 "samples/epoch_001.png", "samples/epoch_002.png", "checkpoint/G.safetensors",
                 "checkpoint/D.safetensors", "checkpoint/state.pt", "model/generator.safetensors"):
        assert (tmp_path / "full" / name).exists(), name
    stats = [json.loads(s) for s in (tmp_path / "full" / "stats.jsonl").read_text().splitlines()]
    assert len(stats) == 2 and all(torch.isfinite(torch.tensor(s["g_loss"])) for s in stats)
    assert stats[1]["g_l1"] < stats[0]["g_l1"] * 1.5

    train(_cfg(1), dataset, tmp_path / "split", log=quiet)
    with pytest.raises(FileExistsError):
        train(_cfg(2), dataset, tmp_path / "split", log=quiet)
    train(_cfg(2), dataset, tmp_path / "split", resume=True, log=quiet)
    a = load_file(str(tmp_path / "full" / "checkpoint" / "G.safetensors"))
    b = load_file(str(tmp_path / "split" / "checkpoint" / "G.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    att = load_attacker(full.model_dir, action="inject")
    assert not att.generator.training


def test_cli_dry_run_resolves_overrides(tmp_path, capsys):
    from mitsgan.cli.main import main

    assert main(["attacker", "train", "--data", str(tmp_path), "--action", "inject", "--out", str(tmp_path / "r"),
                 "--d-lr", "2e-5", "--inject-textures", "solid,part-solid", "--rotation-step", "60",
                 "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["d_lr"] == 2e-5 and cfg["g_lr"] == 2e-4 and cfg["preset"] == "tiny"
    assert cfg["inject_textures"] == ["solid", "part-solid"] and cfg["augment"]["rotation_step_deg"] == 60
    assert main(["attacker", "train", "--data", str(tmp_path), "--action", "inject", "--out", str(tmp_path / "r"),
                 "--d-lr", "0"]) == 2
    assert not (tmp_path / "r").exists()
