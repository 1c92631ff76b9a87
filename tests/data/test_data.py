"""Loader: counts against the published LAReQA README table, answer links, bad files."""

from __future__ import annotations

import json
import re

import pytest

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import LanguageData, load_lareqa, resolve_source
from xlir_bench.data.tasks import get_spec, load_task


def readme_counts(data_dir) -> dict[str, dict[str, tuple[int, int]]]:
    """Parse the statistics table of the dataset's own README (independent of tasks/*.toml)."""
    table = {"xquad-r": {}, "mlqa-r": {}}
    text = (data_dir / "README.lareqa.md").read_text(encoding="utf-8")
    for lang, xq, xc, mq, mc in re.findall(r"^\| (\w\w) \|\s+(\S+) \|\s+(\S+) \|\s+(\S+) \|\s+(\S+) \|$", text, re.M):
        table["xquad-r"][lang] = (int(xq), int(xc))
        if mq != "\\-":
            table["mlqa-r"][lang] = (int(mq), int(mc))
    return table


@pytest.mark.parametrize("task", ["xquad-r", "mlqa-r"])
def test_counts_match_lareqa_readme(data_dir, task):
    expected = readme_counts(data_dir)[task]
    assert len(expected) == {"xquad-r": 11, "mlqa-r": 7}[task]
    spec = get_spec(task)
    loaded = load_task(spec, spec.languages, resolve_source(data_dir))
    got = {lang: (len(d.questions), len(d.candidates)) for lang, d in loaded.data.items()}
    assert got == expected


def test_spot_counts_from_the_issue(data_dir):
    xq = load_task(get_spec("xquad-r"), ("th",), resolve_source(data_dir)).data["th"]
    ml = load_task(get_spec("mlqa-r"), ("en",), resolve_source(data_dir)).data["en"]
    assert (len(xq.questions), len(xq.candidates)) == (1190, 852)
    assert (len(ml.questions), len(ml.candidates)) == (1148, 6264)


def test_answer_sentence_holds_the_answer_text(data_dir):
    """The linked sentence contains the answer text, except where an answer spans a sentence break."""
    for path in sorted((data_dir / "xquad-r").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        answers = {
            q["id"]: q["answers"][0]["text"].strip() for a in raw["data"] for p in a["paragraphs"] for q in p["qas"]
        }
        data = load_lareqa(path, path.stem)
        inside = sum(answers[q] in data.candidates[data.answer_of[q]] for q in data.question_ids)
        assert inside / len(answers) >= 0.98, path.stem


def test_candidate_ids_are_stable_and_sort_in_pool_order(data_dir):
    data = load_lareqa(data_dir / "xquad-r" / "en.json", "en")
    assert data.candidate_ids[:2] == ["en-p00000-s000", "en-p00000-s001"]
    assert data.candidate_ids == sorted(data.candidate_ids)
    assert len(set(data.candidate_ids)) == len(data.candidate_ids)


def test_tiny_fixture_links_answer_start_to_its_sentence(tmp_path):
    context = "Alpha one. Beta two. Gamma three."
    raw = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": context,
                        "sentences": ["Alpha one.", "Beta two.", "Gamma three."],
                        "sentence_breaks": [[0, 10], [11, 20], [21, 33]],
                        "qas": [
                            {"id": "q1", "question": "beta?", "answers": [{"answer_start": 16, "text": "two"}]},
                            {"id": "q2", "question": "gap?", "answers": [{"answer_start": 10, "text": " "}]},
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "xx.json"
    path.write_text(json.dumps(raw))
    data = load_lareqa(path, "xx")
    assert isinstance(data, LanguageData)
    assert data.answer_of == {"q1": 1, "q2": 0}
    assert data.candidate_ids == ["xx-p00000-s000", "xx-p00000-s001", "xx-p00000-s002"]


def test_corrupt_json_names_the_file(tmp_path):
    path = tmp_path / "en.json"
    path.write_text('{"data": [')
    with pytest.raises(XlirError, match=r"en\.json: not valid JSON"):
        load_lareqa(path, "en")


def test_wrong_structure_names_the_file(tmp_path):
    path = tmp_path / "en.json"
    path.write_text('{"data": [{"paragraphs": [{"context": "x"}]}]}')
    with pytest.raises(XlirError, match=r"en\.json: not in LAReQA format"):
        load_lareqa(path, "en")


def test_checksum_mismatch_is_refused(mirror_copy):
    target = mirror_copy / "xquad-r" / "de.json"
    target.write_bytes(target.read_bytes() + b" ")
    with pytest.raises(XlirError, match=r"de\.json: sha256 .* does not match"):
        load_task(get_spec("xquad-r"), ("de",), resolve_source(mirror_copy))


def test_missing_language_file_is_named(mirror_copy):
    (mirror_copy / "xquad-r" / "vi.json").unlink()
    with pytest.raises(XlirError, match=r"vi\.json: file missing from the data mirror"):
        load_task(get_spec("xquad-r"), ("vi",), resolve_source(mirror_copy))


def test_env_mirror_is_used(monkeypatch, data_dir):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    source = resolve_source()
    assert source.root == data_dir.resolve() and not source.download


def test_cache_is_the_fallback_and_may_download(monkeypatch, tmp_path):
    monkeypatch.delenv("XLIR_BENCH_DATA", raising=False)
    source = resolve_source()
    assert source.download and source.root == tmp_path / "cache" / "data"


def _serve_files(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """urlopen answering the pinned https URLs from local bytes: the network stand-in."""
    import io
    import urllib.request

    asked = []

    def fake_urlopen(url, timeout=None):
        asked.append(url)
        return io.BytesIO(files[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    return asked


def test_download_goes_through_a_verified_cache(monkeypatch, data_dir, tmp_path):
    """The downloader fetches the pinned https URL, verifies the bytes and places the file."""
    from xlir_bench.data import lareqa as data_module

    monkeypatch.delenv("XLIR_BENCH_DATA", raising=False)
    spec = get_spec("xquad-r")
    asked = _serve_files(monkeypatch, {spec.url("es"): (data_dir / "xquad-r" / "es.json").read_bytes()})
    task = load_task(spec, ("es",), data_module.resolve_source())
    assert asked == [spec.url("es")] and spec.url("es").startswith("https://")
    assert (tmp_path / "cache" / "data" / "xquad-r" / "es.json").exists()
    assert len(task.data["es"].candidates) == 1215
