import pytest


@pytest.fixture(scope="session")
def demos(tmp_path_factory):
    """One real expert episode of reach-v3 at 32 x 32 pixels (a DemoDataset directory)."""
    sim = pytest.importorskip("grids.sim")
    out = tmp_path_factory.mktemp("demos") / "reach"
    return sim.generate_demos(["reach-v3"], 1, out, image_size=32, workers=1, progress=False)
