"""DatastoreFiles over a local folder and over S3 (a real moto server on loopback)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchard.entities.datastores import (
    AzureDataLakeGen1Datastore,
    AzureFileDatastore,
    DatastoreBase,
    GcsDatastore,
    LocalDatastore,
    S3Datastore,
)
from orchard.errors import NotFound, UnsafePath, ValidationError
from orchard.storage.filesystems import DatastoreFiles, open_datastore

SECRET = "s3cr3t-value-never-shown"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- local datastores -------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> DatastoreFiles:
    root = tmp_path / "datastore"
    root.mkdir()
    return open_datastore(LocalDatastore(name="local_files", path=str(root)), None)


def test_local_round_trip(local: DatastoreFiles, tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.txt": "alpha", "sub/b.csv": "1,2", "sub/deep/c": "c"})
    local.upload(src, "runs/r1")
    assert local.list("runs/r1") == ["runs/r1/a.txt", "runs/r1/sub"]
    assert local.list("runs/r1", recursive=True) == [
        "runs/r1/a.txt",
        "runs/r1/sub/b.csv",
        "runs/r1/sub/deep/c",
    ]
    assert local.exists("runs/r1/a.txt") and not local.exists("runs/r1/zzz")
    assert local.isdir("runs/r1/sub") and not local.isdir("runs/r1/a.txt")
    assert local.size("runs/r1/a.txt") == 5
    assert local.size("runs/r1") == 5 + 3 + 1
    assert local.url("runs/r1/a.txt") == str(Path(local.root) / "runs" / "r1" / "a.txt")
    out = local.download("runs/r1", tmp_path / "out")
    assert tree(out) == tree(src)
    single = local.download("runs/r1/sub/b.csv", tmp_path / "one" / "b.csv")
    assert single.read_text() == "1,2"
    assert not [name for name in os.listdir(tmp_path / "one") if ".tmp-" in name]


def test_local_open_writes_and_reads(local: DatastoreFiles) -> None:
    with local.open("new/folder/x.txt", "wb") as handle:
        handle.write(b"written")
    with local.open("new/folder/x.txt") as handle:
        assert handle.read() == b"written"
    assert local.list("", recursive=True) == ["new/folder/x.txt"]


def test_local_upload_of_a_single_file_needs_a_path(local: DatastoreFiles, tmp_path: Path) -> None:
    src = write(tmp_path, {"m.pkl": "m"}) / "m.pkl"
    local.upload(src, "models/m.pkl")
    assert local.list("models") == ["models/m.pkl"]
    with pytest.raises(ValidationError, match="needs a file path, not the root"):
        local.upload(src, "")


def test_progress_counts_the_bytes(local: DatastoreFiles, tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a": "x" * 100, "b": "y" * 23})
    seen: list[int] = []
    local.upload(src, "p", progress=seen.append)
    assert sum(seen) == 123
    seen.clear()
    local.download("p", tmp_path / "out", progress=seen.append)
    assert sum(seen) == 123


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd", "%2e%2e/x", "a\\..\\..\\x"])
def test_local_traversal_is_refused_everywhere(local: DatastoreFiles, rel: str) -> None:
    for call in (
        lambda: local.open(rel),
        lambda: local.exists(rel),
        lambda: local.isdir(rel),
        lambda: local.list(rel),
        lambda: local.size(rel),
        lambda: local.url(rel),
    ):
        with pytest.raises(UnsafePath):
            call()


def test_local_symlinks_out_of_the_root_are_refused(local: DatastoreFiles, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.txt": "s"})
    root = Path(local.root)
    os.symlink(outside, root / "leak-dir")
    os.symlink(outside / "secret.txt", root / "leak.txt")
    with pytest.raises(UnsafePath, match="symbolic link leads out"):
        local.open("leak.txt")
    with pytest.raises(UnsafePath, match="symbolic link leads out"):
        local.open("leak-dir/secret.txt")
    with pytest.raises(UnsafePath, match="symbolic link leads out"):
        local.upload(write(tmp_path / "src", {"x": "x"}), "leak-dir/planted")
    assert not (outside / "planted").exists()
    with pytest.raises(UnsafePath, match="leads out of"):
        local.list("", recursive=True)
    with pytest.raises(UnsafePath, match="leads out of"):
        local.download("", tmp_path / "copy")


def test_local_missing_paths_are_not_found(local: DatastoreFiles, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=re.escape("'nope.txt' not found in")):
        local.open("nope.txt")
    with pytest.raises(NotFound, match="'nope' not found in"):
        local.download("nope", tmp_path / "out")
    with pytest.raises(NotFound, match="'nope' not found in"):
        local.list("nope")
    with pytest.raises(NotFound, match="does not exist"):
        local.upload(tmp_path / "missing", "x")


def test_download_refuses_to_write_through_a_symlink_in_the_destination(
    local: DatastoreFiles, tmp_path: Path
) -> None:
    local.upload(write(tmp_path / "src", {"sub/x.txt": "x"}), "d")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(tmp_path / "elsewhere", dest / "sub")
    with pytest.raises(UnsafePath, match=re.escape("unsafe downloaded path 'sub/x.txt'")):
        local.download("d", dest)


# --- kinds that cannot be reached, missing extras, credentials ----------------------------


def test_azure_file_and_gen1_explain_themselves() -> None:
    share = AzureFileDatastore(name="share", account_name="acct", file_share_name="s")
    with pytest.raises(ValidationError, match="azure_file datastores are not reachable"):
        open_datastore(share, None)
    gen1 = AzureDataLakeGen1Datastore(name="lake", store_name="old")
    with pytest.raises(ValidationError, match="azure_data_lake_gen1 datastores are not reachable"):
        open_datastore(gen1, None)


@pytest.mark.parametrize(
    ("module", "datastore", "extra"),
    [
        ("s3fs", S3Datastore(name="s3_store", bucket="b"), "s3"),
        ("gcsfs", GcsDatastore(name="gcs_store", bucket="b"), "gcs"),
    ],
)
def test_a_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, module: str, datastore: DatastoreBase, extra: str
) -> None:
    # A None entry in sys.modules makes `import` fail as if the package were absent.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ValidationError) as caught:
        open_datastore(datastore, None)
    assert caught.value.message == (
        f"{extra} datastores need the {module} package: pip install 'orchard-ml[{extra}]'"
    )


def test_azure_blob_without_adlfs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchard.entities.datastores import AzureBlobDatastore

    monkeypatch.setitem(sys.modules, "adlfs", None)
    blob = AzureBlobDatastore(name="blob", account_name="acct", container_name="c")
    with pytest.raises(ValidationError, match=r"pip install 'orchard-ml\[azure\]'"):
        open_datastore(blob, {"account_key": SECRET})


def test_wrong_credential_kinds_name_keys_but_never_values() -> None:
    s3 = S3Datastore(name="s3_store", bucket="b")
    with pytest.raises(ValidationError) as caught:
        open_datastore(s3, {"account_key": SECRET})
    assert "['account_key']" in caught.value.message
    assert SECRET not in caught.value.message
    gcs = GcsDatastore(name="gcs_store", bucket="b")
    with pytest.raises(ValidationError) as bad_json:
        open_datastore(gcs, {"service_account_key": "{" + SECRET})
    assert bad_json.value.message == "datastore 'gcs_store': service_account_key is not valid JSON"
    assert bad_json.value.__suppress_context__  # the JSON error quoting the key is dropped
    with pytest.raises(ValidationError, match="credentials lack access_key_id"):
        open_datastore(s3, {"secret_access_key": SECRET})


# --- S3 through a real moto server --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"moto server did not answer on {url}:\n{log.read_text()}")
        try:
            # Waiting on the process doubles as the poll interval and fails fast if it died.
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"moto server exited with {proc.returncode}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
        import s3fs  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"moto[server] and s3fs are needed for the S3 tests: {exc}")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(proc, url, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep botocore away from the machine's own AWS settings and the metadata service.
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def bucket(moto_endpoint: str, s3_env: None) -> Any:
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAORCHARDTEST",
        aws_secret_access_key=SECRET,
    )
    name = f"orchard-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return client, name


def _s3_datastore(moto_endpoint: str, bucket_name: str, prefix: str | None) -> S3Datastore:
    return S3Datastore.model_validate(
        {
            "name": "s3_store",
            "bucket": bucket_name,
            "prefix": prefix,
            "endpoint_url": moto_endpoint,
            "region": "us-east-1",
            "credentials": {"access_key_id": "AKIAORCHARDTEST", "secret_access_key": SECRET},
        }
    )


def test_s3_round_trip(moto_endpoint: str, bucket: Any, tmp_path: Path) -> None:
    client, name = bucket
    datastore = _s3_datastore(moto_endpoint, name, "team/a")
    files = open_datastore(datastore, datastore.secret_values())
    assert SECRET not in repr(files)
    assert repr(files) == f"DatastoreFiles(S3FileSystem, '{name}/team/a')"

    src = write(tmp_path / "src", {"a.txt": "alpha", "sub/b.csv": "1,2\n3,4"})
    seen: list[int] = []
    files.upload(src, "runs/r1", progress=seen.append)
    assert sum(seen) == 5 + 7
    keys = sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=name)["Contents"])
    assert keys == ["team/a/runs/r1/a.txt", "team/a/runs/r1/sub/b.csv"]

    assert files.list("runs/r1") == ["runs/r1/a.txt", "runs/r1/sub"]
    assert files.list("runs", recursive=True) == ["runs/r1/a.txt", "runs/r1/sub/b.csv"]
    assert files.exists("runs/r1/a.txt") and not files.exists("runs/r1/nope")
    assert files.isdir("runs/r1/sub") and not files.isdir("runs/r1/a.txt")
    assert files.size("runs/r1/sub/b.csv") == 7
    assert files.size("runs/r1") == 12
    assert files.url("runs/r1/a.txt") == f"s3://{name}/team/a/runs/r1/a.txt"
    with files.open("runs/r1/a.txt") as handle:
        assert handle.read() == b"alpha"

    out = files.download("runs/r1", tmp_path / "out")
    assert tree(out) == tree(src)
    one = files.download("runs/r1/sub/b.csv", tmp_path / "one.csv")
    assert one.read_text() == "1,2\n3,4"

    files.upload(src / "a.txt", "single/a.txt")
    got = client.get_object(Bucket=name, Key="team/a/single/a.txt")["Body"].read()
    assert got == b"alpha"


def test_s3_missing_paths_are_not_found(moto_endpoint: str, bucket: Any, tmp_path: Path) -> None:
    _, name = bucket
    datastore = _s3_datastore(moto_endpoint, name, None)
    files = open_datastore(datastore, datastore.secret_values())
    with pytest.raises(NotFound, match=f"'nope.txt' not found in s3://{name}"):
        files.download("nope.txt", tmp_path / "x")
    with pytest.raises(NotFound):
        files.list("nope", recursive=True)


@pytest.mark.parametrize(
    "key", ["evil/../../escape.txt", "evil/..\\..\\escape.txt", "evil/%2e%2e/escape.txt"]
)
def test_s3_keys_that_climb_out_are_refused_on_download(
    moto_endpoint: str, bucket: Any, tmp_path: Path, key: str
) -> None:
    # An object store holds such keys happily; writing them to disk must not escape.
    client, name = bucket
    client.put_object(Bucket=name, Key="evil/ok.txt", Body=b"ok")
    client.put_object(Bucket=name, Key=key, Body=b"pwned")
    datastore = _s3_datastore(moto_endpoint, name, None)
    files = open_datastore(datastore, datastore.secret_values())
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(UnsafePath, match="unsafe stored path"):
        files.download("evil", dest)
    assert not list(tmp_path.rglob("escape.txt"))


def test_s3_identity_based_access_uses_the_default_chain(
    moto_endpoint: str, bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, name = bucket
    client.put_object(Bucket=name, Key="x.txt", Body=b"x")
    # No stored credentials: botocore finds these in the environment, as on a cloud VM.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    datastore = S3Datastore(
        name="s3_identity", bucket=name, endpoint_url=moto_endpoint, region="us-east-1"
    )
    files = open_datastore(datastore, None)
    assert files.list("") == ["x.txt"]
