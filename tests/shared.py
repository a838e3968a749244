"""Where the project's shared folder (public OTLP samples) is: beside the clone, as CI lays
it out, or at the workplace's own /work/shared."""

from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    for candidate in (_REPO.parent / "shared", Path("/work/shared")):
        if (candidate / "otlp-samples").is_dir():
            return candidate
    raise FileNotFoundError(f"no shared/otlp-samples beside {_REPO} nor at /work/shared")


SAMPLES = shared_dir() / "otlp-samples"
