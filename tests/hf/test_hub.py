"""`attention-export hf ORG/NAME`: a hub id that is no folder here is downloaded (config, weights and
tokenizer files only) and imported; offline, one sentence says so and how to go on. No test reaches
the network: snapshot_download is replaced where a download is needed."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import huggingface_hub
import pytest

from export.cli import main
from export.hf import hub


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """fake_hub(repo_folder) -> the calls: snapshot_download copies what its patterns allow of
    `repo_folder` (a repository's files, as the hub holds them) into a snapshot folder."""
    calls = []

    def serve(repo_folder: Path):
        def snapshot_download(repo_id, allow_patterns, local_files_only=False, **_):
            calls.append((repo_id, allow_patterns, local_files_only))
            snapshot = tmp_path / "snapshots" / repo_id.replace("/", "--")
            snapshot.mkdir(parents=True, exist_ok=True)
            for file in repo_folder.iterdir():
                if any(fnmatch.fnmatch(file.name, pattern) for pattern in allow_patterns):
                    shutil.copy(file, snapshot)
            return str(snapshot)

        monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
        return calls

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return serve


def test_offline_says_so_in_one_sentence(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["hf", "attention-explorer-tests/no-such-model", "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err == ("attention-export: error: attention-explorer-tests/no-such-model is not a folder here, the "
                   "Hugging Face Hub is offline here (HF_HUB_OFFLINE is set) and no copy of it is cached: give the "
                   "folder of a checkpoint on disk, or unset HF_HUB_OFFLINE to download it\n")
    assert not (tmp_path / "x.onnx").exists()


def test_no_network_says_so_in_one_sentence(monkeypatch, tmp_path, capsys):
    from huggingface_hub.errors import LocalEntryNotFoundError

    def unreachable(repo_id, **_):
        raise LocalEntryNotFoundError("An error happened while trying to locate the files on the Hub ...")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    assert main(["hf", "org/name", "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "org/name is not a folder here, the Hugging Face Hub cannot be reached (no network)" in err
    assert err.count("\n") == 1 and "try again once the network is up" in err


def test_a_hub_id_is_downloaded_with_only_the_files_the_import_reads_then_imported(checkpoints, fake_hub,
                                                                                   tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(checkpoints["bert"], repo)
    (repo / "README.md").write_text("a model card")
    (repo / "tf_model.h5").write_bytes(b"weights of another framework")
    calls = fake_hub(repo)
    out = tmp_path / "tiny.onnx"
    assert main(["hf", "org/tiny-bert", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.splitlines()[:2] == ["downloading org/tiny-bert", "reading the checkpoint"]
    assert f"wrote {out}" in stdout and out.stat().st_size > 0
    assert [(repo_id, offline) for repo_id, _, offline in calls] == [("org/tiny-bert", False)]
    snapshot = tmp_path / "snapshots" / "org--tiny-bert"
    assert not (snapshot / "README.md").exists() and not (snapshot / "tf_model.h5").exists()


def test_a_checkpoint_without_safetensors_is_fetched_with_its_pickles(fake_hub, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("config.json", "tokenizer.json", "pytorch_model.bin", "flax_model.msgpack"):
        (repo / name).write_text("{}")
    calls = fake_hub(repo)
    folder = hub.checkpoint_folder("org/old-bert")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model.bin", "tokenizer.json"]
    assert len(calls) == 2 and "pytorch_model.bin" in calls[1][1]


def test_an_existing_folder_is_never_taken_for_a_hub_id(fake_hub, tmp_path, monkeypatch):
    calls = fake_hub(tmp_path)
    (tmp_path / "org" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert hub.checkpoint_folder("org/name") == Path("org/name")
    assert hub.checkpoint_folder("./missing/folder/deeper") == Path("./missing/folder/deeper")
    assert calls == []
