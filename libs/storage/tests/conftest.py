"""Storage fixtures: every backend behind one `storage` fixture, the S3 one against the real MinIO server
of the root conftest (`s3_server`, `make_s3_storage`)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from reelscope_storage import FilesystemStorage, Storage


@pytest.fixture(
    params=[
        pytest.param("filesystem", marks=pytest.mark.unit),
        pytest.param("s3", marks=pytest.mark.integration),
    ]
)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """Each backend in turn: a directory under tmp_path, then a fresh bucket on the session's MinIO."""
    if request.param == "filesystem":
        yield FilesystemStorage(tmp_path / "store")
    else:
        yield request.getfixturevalue("make_s3_storage")()
