"""``--large-nodules``: many cancer-like nodules per phantom for injector training,
without changing the default scans."""
from __future__ import annotations

import hashlib

import numpy as np

from mitsgan.data.phantom.generate import generate_phantom
from mitsgan.data.phantom.library import load_library
from mitsgan.data.phantom.nodules import choose_nodules


def _draw(seed: int, large: int):
    return choose_nodules(load_library(), np.random.default_rng(seed), large=large)


def test_default_draw_is_unchanged_and_extras_are_inserted_after_the_first():
    lib = load_library()
    for seed in range(5):
        default = choose_nodules(lib, np.random.default_rng(seed))
        assert _draw(seed, 1) == default
        more = _draw(seed, 6)
        # The extras are drawn last, so the default nodules keep their shapes and order.
        assert more[:1] + more[6:] == default
        extra = more[1:6]
        assert all(11.0 <= s.lidc_diameter_mm < 25.0 and s.scale == 1.0 and s.embedded for s in extra)
        assert not any(s.embedded for s in default)
        assert len({s.annotation_id for s in extra}) >= 3  # distinct LIDC shapes, not one repeated


def test_a_phantom_holds_several_cancer_like_nodules_apart():
    ph = generate_phantom(seed=3, slices=48, size=256, large_nodules=5)
    big = [p for p in ph.placed if p.diameter_mm >= 10.0]
    assert len(big) >= 3
    sp = np.asarray(ph.scan.spacing_zyx)
    for i, a in enumerate(big):
        for b in big[i + 1:]:  # never overlapping: the placement keeps 10 mm of lung between them
            gap = np.linalg.norm((a.centroid_zyx - b.centroid_zyx) * sp) - (a.diameter_mm + b.diameter_mm) / 2
            assert gap > 5.0


def test_workers_write_the_same_bytes(tmp_path):
    from mitsgan.data.phantom.generate import write_phantom_dataset

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    kw = dict(n_scans=3, slices=12, size=96, seed=4, large_nodules=3, progress=False)
    one = write_phantom_dataset(tmp_path / "one", **kw)
    two = write_phantom_dataset(tmp_path / "two", workers=2, **kw)
    assert digests(one) == digests(two) and len(digests(one)) == 3 * 2 + 3
