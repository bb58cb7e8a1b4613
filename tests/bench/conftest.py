import pytest


@pytest.fixture(scope="session")
def demos(tmp_path_factory):
    """One real expert episode of reach-v3 at 32 x 32 pixels (a DemoDataset directory)."""
    sim = pytest.importorskip("grids.sim")
    out = tmp_path_factory.mktemp("demos") / "reach"
    return sim.generate_demos(["reach-v3"], 1, out, image_size=32, workers=1, progress=False)


@pytest.fixture
def benchmark_script():
    """``load(name)``: the module of ``benchmarks/<name>.py`` (a script, not a package module), freshly loaded."""
    import importlib.util
    from pathlib import Path

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[2] / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
