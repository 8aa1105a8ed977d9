"""azureml:// datastore URIs: both forms parsed, paths cleaned, other strings left alone."""

from __future__ import annotations

import re

import pytest

from orchard.errors import UnsafePath, ValidationError
from orchard.storage.uris import (
    DatastoreUri,
    is_local_path,
    is_remote_uri,
    parse_datastore_uri,
)

LONG_PREFIX = "azureml://subscriptions/0000-1111/resourcegroups/rg-ml/workspaces/ws1"


@pytest.mark.parametrize(
    ("uri", "datastore", "path"),
    [
        (
            "azureml://datastores/workspaceblobstore/paths/data/train.csv",
            "workspaceblobstore",
            "data/train.csv",
        ),
        ("azureml://datastores/my_store/paths/folder/", "my_store", "folder"),
        ("azureml://datastores/my_store/paths/", "my_store", ""),
        ("azureml://datastores/my_store/paths", "my_store", ""),
        ("AzureML://Datastores/my_store/Paths/a//./b", "my_store", "a/b"),
        (f"{LONG_PREFIX}/datastores/blob1/paths/x/y.parquet", "blob1", "x/y.parquet"),
        (
            "AZUREML://SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/WORKSPACES/w/DATASTORES/d1/PATHS/p",
            "d1",
            "p",
        ),
    ],
)
def test_datastore_uris_are_parsed(uri: str, datastore: str, path: str) -> None:
    assert parse_datastore_uri(uri) == DatastoreUri(datastore=datastore, path=path)


@pytest.mark.parametrize(
    "value",
    [
        "azureml:my-data:1",
        "azureml://jobs/abc/outputs/model",
        "azureml://datastores/x/files/y",
        "azureml://datastores//paths/y",
        "s3://bucket/key",
        "./data/train.csv",
        "",
    ],
)
def test_other_strings_are_not_datastore_uris(value: str) -> None:
    assert parse_datastore_uri(value) is None


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/blob/paths/../secret",
        "azureml://datastores/blob/paths/a/%2e%2e/%2e%2e/b",
        f"{LONG_PREFIX}/datastores/blob/paths/a/../../b",
    ],
)
def test_traversal_in_the_path_is_refused(uri: str) -> None:
    with pytest.raises(UnsafePath, match=re.escape("has a '..' segment")):
        parse_datastore_uri(uri)


def test_a_bad_datastore_name_is_named() -> None:
    with pytest.raises(ValidationError, match="'Bad-Name', which is not a valid datastore name"):
        parse_datastore_uri("azureml://datastores/Bad-Name/paths/x")


def test_str_builds_the_short_form_and_round_trips() -> None:
    uri = DatastoreUri(datastore="workspaceblobstore", path="LocalUpload/abc/data")
    assert str(uri) == "azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/data"
    assert parse_datastore_uri(str(uri)) == uri


@pytest.mark.parametrize(
    ("value", "remote"),
    [
        ("azureml://datastores/x/paths/y", True),
        ("azureml:my-data:1", True),
        ("AZUREML:my-data@latest", True),
        ("s3://bucket/key", True),
        ("abfss://fs@acct.dfs.core.windows.net/x", True),
        ("https://example.org/data.csv", True),
        ("gs://bucket/x", True),
        ("file:///tmp/x", True),
        ("C://data/x", False),
        ("C:\\data\\x", False),
        ("C:/data/x", False),
        ("./data", False),
        ("/abs/data", False),
        ("data/train.csv", False),
        ("name:with-colon", False),
    ],
)
def test_remote_and_local_are_told_apart(value: str, remote: bool) -> None:
    assert is_remote_uri(value) is remote
    assert is_local_path(value) is (not remote)
