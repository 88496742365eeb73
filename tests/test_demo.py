"""``mitsgan demo``: the README's main job, end to end on built-in data."""
from __future__ import annotations

import json

from mitsgan.cli.main import main


def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", str(out), "--size", "256", "--slices", "40", "--quiet"]) == 0
    for name in ("report.md", "report.json", "demo.png", "injected.mhd", "removed.mhd",
                 "phantom/annotations.csv"):
        assert (out / name).exists(), name
    report = json.loads((out / "report.json").read_text())
    inject, remove = report["cases"]
    assert inject["action"] == "inject" and inject["sphere_change_hu"] > 0
    assert remove["action"] == "remove" and remove["sphere_hu_after"] < remove["sphere_hu_before"]
    # The acceptance definitions of mitsgan.evaluation.tamper_metrics, with the blob details.
    for case in report["cases"]:
        assert case["lung_hu"] < -500
        assert case["lung_gap_hu"] == case["sphere_hu_after"] - case["lung_hu"]
        for key in ("blob_before", "blob_after", "blob_new"):
            assert set(case[key]) == {"eq_diameter_mm", "extent_mm", "within_10mm", "components"}
    assert remove["blob_before"]["eq_diameter_mm"] > 0  # the nodule that was removed
    # The injection goes where an attacker would put it: the clearest healthy candidate.
    from mitsgan.data.dataset import Dataset
    from mitsgan.evaluation.tamper_metrics import sphere_mean_hu
    from mitsgan.geometry import world_to_voxel

    ds = Dataset.open(out / "phantom")
    scan = ds.load(report["seriesuid"])
    spheres = [sphere_mean_hu(scan.hu, scan.spacing_zyx, world_to_voxel(scan, h.coord_xyz))
               for h in ds.healthy(report["seriesuid"])]
    assert len(spheres) > 1 and inject["sphere_hu_before"] == min(spheres)
    printed = capsys.readouterr().out
    assert "10 mm sphere" in printed and "new tissue" in printed
    assert "new tissue" in (out / "report.md").read_text()
    # An existing folder is refused without --overwrite, and left alone.
    before = sorted(p.name for p in out.iterdir())
    assert main(["demo", str(out), "--quiet"]) == 2
    assert sorted(p.name for p in out.iterdir()) == before


def test_injection_spot_is_clear_lung_with_no_vessel_at_its_centre():
    """Of two healthy spots, the attacker's pick is the one with nothing dense at its centre,
    even where a 2 mm vessel leaves the other's 10 mm sphere clearer on average."""
    import numpy as np

    from mitsgan.data.dataset import Location
    from mitsgan.evaluation.demo import pick_locations
    from mitsgan.io import Scan

    hu = np.full((40, 64, 64), -870.0, dtype=np.float32)
    hu[:, :, 32:] = -830.0  # the right half: denser lung, no vessel
    hu[19:21, 15:17, 15:17] = 40.0  # a 2 mm vessel at the centre of the left spot
    scan = Scan(hu=hu, spacing_zyx=(1.0, 1.0, 1.0))

    class Spots:
        def healthy(self, uid):
            return [Location(uid, (16.0, 16.0, 20.0)), Location(uid, (48.0, 16.0, 20.0))]

        def nodules(self, uid):
            return [Location(uid, (48.0, 48.0, 20.0), 12.0)]

    inject_at, remove_at = pick_locations(Spots(), "s", scan)
    assert inject_at.coord_xyz == (48.0, 16.0, 20.0)
    assert remove_at.diameter_mm == 12.0
