"""The default models and the CUDA sources are package data: found through importlib.resources
inside the installed `billow` package (not through the repository around it), and every file they
need is matched by pyproject's package-data globs, so a regular `pip install .` carries them."""

import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

import billow
from billow._native import cuda_sources
from billow.infer.models import DEFAULT_3D, default_model, models_dir

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(billow.__file__).resolve().parent


def _shipped(path: Path) -> bool:
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["billow"]
    rel = path.resolve().relative_to(PACKAGE).as_posix()
    return any(fnmatch.fnmatch(rel, g) for g in globs)


def test_default_model_is_found_inside_the_package(monkeypatch):
    monkeypatch.delenv("BILLOW_MODELS", raising=False)
    model = default_model()
    assert model.parent == Path(str(resources.files("billow") / "models")) == models_dir()
    assert model.resolve().parent.parent == PACKAGE and model.name == DEFAULT_3D
    for path in (model, model.with_suffix(".json"), model.with_suffix(".pt")):
        assert path.is_file() and _shipped(path), path


def test_every_shipped_model_file_is_package_data():
    files = sorted((PACKAGE / "models").iterdir())
    assert {p.suffix for p in files} == {".onnx", ".json", ".pt"}
    assert [p for p in files if not _shipped(p)] == []


def test_cuda_sources_and_their_headers_are_package_data():
    sources = cuda_sources()
    assert sources and all(s.is_file() and s.resolve().parent == PACKAGE / "cpp_kernels"
                           for s in sources)
    headers = sorted((PACKAGE / "cpp_kernels").glob("*.h"))
    assert [p for p in sources + headers if not _shipped(p)] == []
    # each .cu includes only headers that ship beside it (or torch's / CUDA's own)
    for cu in sources:
        for line in cu.read_text().splitlines():
            if line.startswith('#include "'):
                assert (cu.parent / line.split('"')[1]).is_file(), (cu.name, line)


def test_models_dir_honours_billow_models(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLOW_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
